# SAN ViT-B/16 (mmseg 1.2.2, COCO-Stuff 41.93 mIoU) as an AFOV teacher. The vocabulary is
# replaced by the class dictionary's prompts at build time (MMSegOVTeacher).
# Weights: san-vit-b16_20230906-fd0a7684.pth from the mmseg model zoo (see README).
_base_ = ['mmseg::san/san-vit-b16_coco-stuff164k-640x640.py']
model = dict(pretrained=None)
