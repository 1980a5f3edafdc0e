"""Shared toy data for the NFA tests: the tree of figure 5.3 and a literal prune/merge."""
import numpy as np

# Image in the spirit of thesis figure 5.3: branch b1 = {L10,1, L9,1, L6,1}, then L5,1 with
# children b1, L9,2 and L7,1, inside the background level 1.
FIGURE_5_3 = np.array(
    [
        [1, 1, 1, 1, 1, 1],
        [1, 10, 9, 1, 9, 1],
        [1, 6, 5, 5, 5, 1],
        [1, 1, 1, 7, 1, 1],
        [1, 1, 1, 1, 1, 1],
    ],
    dtype=np.float64,
)


def literal_prune_merge(parent, values):
    """Prune and merge exactly as the thesis words them, iterated until the tree stops changing."""
    parent = list(parent)
    alive = [True] * len(parent)

    def children():
        kids = {i: [] for i in range(len(parent)) if alive[i]}
        for i in kids:
            if parent[i] != i:
                kids[parent[i]].append(i)
        return kids

    changed = True
    while changed:
        changed = False
        kids = children()
        for leaf in [i for i, c in kids.items() if not c]:
            if not alive[leaf]:
                continue
            chain = [leaf]
            node = leaf
            while parent[node] != node and len(kids[parent[node]]) == 1:
                node = parent[node]
                chain.append(node)
            keep = min(chain, key=lambda i: (values[i], chain.index(i)))
            top = chain[-1]
            for i in chain:
                if i != keep:
                    alive[i] = False
                    changed = True
            parent[keep] = keep if parent[top] == top else parent[top]
        kids = children()
        for node, c in kids.items():
            if c and all(not kids[x] for x in c) and all(values[node] < values[x] for x in c):
                for x in c:
                    alive[x] = False
                changed = True
        kids = children()
    return sorted(i for i, c in children().items() if not c)
