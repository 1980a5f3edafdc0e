"""Detection and segmentation figures: AUROC (scikit-learn), AUPRO, IoU, annotator agreement.

Import from the submodules (ranking, pro, overlap, agreement) so that using one does not load the others.
"""
