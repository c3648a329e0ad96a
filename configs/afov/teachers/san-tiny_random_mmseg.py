# A ~2 M-parameter SAN with random weights: the real mmseg SAN code path (real mmcv ops) at
# test speed. For tests only: its outputs carry no knowledge.
_base_ = ['mmseg::_base_/models/san_vit-b16.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size_divisor=32, test_cfg=dict(size_divisor=32)),
    image_encoder=dict(embed_dims=64, num_layers=3, num_heads=4, out_indices=(0, 1, 2)),
    text_encoder=dict(dataset_name=None, vocabulary=['placeholder'], templates='vild',
                      embed_dims=32, num_layers=1, num_heads=4, output_dims=32,
                      cache_feature=True),
    decode_head=dict(
        num_classes=1, deep_supervision_idxs=[3],
        san_cfg=dict(clip_channels=64, embed_dims=32, num_queries=10,
                     cfg_encoder=dict(num_encode_layer=4, num_heads=2, mlp_ratio=2),
                     fusion_index=[0, 1, 2, 3],
                     cfg_decoder=dict(num_heads=4, num_layers=1, embed_channels=32,
                                      mlp_channels=32, num_mlp=3, rescale=True)),
        maskgen_cfg=dict(sos_token_num=10, num_layers=1, embed_dims=64, num_heads=4,
                         out_dims=32),
        loss_decode=[dict(type='CrossEntropyLoss', loss_name='loss_cls_ce', loss_weight=2.0,
                          class_weight=[1.0, 0.1])]))
