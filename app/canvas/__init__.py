"""Image canvas: picture, anomaly-map overlay, region outlines, linked multi-view panels."""
