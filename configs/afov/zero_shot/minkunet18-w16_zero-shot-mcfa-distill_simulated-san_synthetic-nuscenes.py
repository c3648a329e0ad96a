# Zero-shot protocol with MCFA and, beyond the seed, feature distillation into the text head
# (1 - cos(point embedding, the teacher's region feature at its pixel), weight 1): the
# embedding then carries what the teacher's features know beyond the 16 classes, which text
# queries of finer categories need (tools/query.py --retrieval). Cache first:
#   python tools/cache_teacher.py THIS_CONFIG
_base_ = ['./minkunet18-w16_zero-shot-mcfa_simulated-san_synthetic-nuscenes.py']

model = dict(decode_head=dict(distill_weight=1.0))
