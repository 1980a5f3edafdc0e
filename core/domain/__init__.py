"""The project's domain rules, each in one place (Qt-free, torch-free, only the store below it).

- `enums`: verdicts, image and job statuses.
- `active_model`: which model revision is the active one (one setting, one fallback rule).
- `images`: the file to decode for an image (the project's copy, else the original) and the readable
  images of a batch in order.
- `labels`: the current revision of each annotator, and the one rule that gives an image its label.
"""
