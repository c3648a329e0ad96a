# Annotation-free stage 2 with the text-embedding classifier (TextEmbeddingHead): the head
# projects to the teacher's CLIP space and scores cos(point, class text) / tau, the class
# embeddings frozen from the cached text bank (the teacher setting points the head at it).
# Everything else as the plain stage-2 config. Test-time vocabulary:
#   python tools/test.py THIS_CONFIG CKPT --vocabulary car,truck,bus   (or a dictionary name /
#       JSON path; = --cfg-options "model.decode_head.vocabulary=[car,truck,bus]")
_base_ = ['./minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py']

model = dict(decode_head=dict(type='TextEmbeddingHead', feature_dim=512, tau=0.07))
