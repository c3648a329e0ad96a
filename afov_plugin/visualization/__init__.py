from .seg_pictures import SegPicturesHook, draw_bev, draw_camera

__all__ = ['SegPicturesHook', 'draw_bev', 'draw_camera']
