"""U-Flow: a U-shaped normalizing flow on frozen multi-scale features (thesis ch. 5).

    from core.models.uflow import UFlowConfig, train, UFlowModel
    model = train(paths, UFlowConfig(train_steps=300), progress=cb, cancel=token)
    results = model.predict(test_paths)          # list[Prediction]
    weights, description = model.to_bytes()       # safetensors bytes + JSON-able dict
    same = UFlowModel.from_bytes(weights, description, expected_backbone="tf_efficientnet_lite0")
"""

from core.models.uflow.calibration import calibration_report, mean_z2_per_scale
from core.models.uflow.model import Prediction, UFlowConfig, UFlowModel, anomaly_map_from_latents, resize_map
from core.models.uflow.train import train

__all__ = ["UFlowConfig", "UFlowModel", "Prediction", "train", "calibration_report", "mean_z2_per_scale",
           "anomaly_map_from_latents", "resize_map"]
