"""The retraining loop in the GUI: train dialog, live training view, model revisions panel."""
