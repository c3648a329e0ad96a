# The synthetic SemanticKITTI set written by `tools/create_synthetic.py --format semantickitti`
# and indexed by `tools/create_data.py semantickitti`: mmdet3d's own SemanticKITTI dataset and
# pipelines, only the data root and loader sizes differ.
_base_ = ['mmdet3d::_base_/datasets/semantickitti.py']

data_root = 'data/synthetic_semantickitti/'
train_dataloader = dict(
    batch_size=2, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
