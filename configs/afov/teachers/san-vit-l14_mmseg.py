# SAN ViT-L/14 (mmseg 1.2.2, COCO-Stuff 45.78 mIoU) as an AFOV teacher (CLIP dim 768).
# Weights: san-vit-l14_20230907-a11e098f.pth from the mmseg model zoo (see README).
_base_ = ['mmseg::san/san-vit-l14_coco-stuff164k-640x640.py']
model = dict(pretrained=None)
