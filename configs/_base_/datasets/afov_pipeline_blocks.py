# Pipeline blocks that do not depend on the dataset, shared by the AFOV dataset bases
# (nuscenes_afov.py, semantickitti_afov.py), which read them as _base_.<name>.
# The real-data teacher of the dataset bases (they add their dictionary): SAN ViT-B/16 from
# mmseg's model zoo. Its cache: teacher_cache_dir, relative to data_root; None =
# teacher_cache/<teacher name>. Every LoadTeacherCache step, tools/cache_teacher.py and the
# reports read teacher / dictionary / teacher_cache_dir (afov_plugin/engine/teacher_setting.py);
# a cache of another teacher is refused.
san_vit_b16_teacher = dict(type='MMSegOVTeacher',
                           config='configs/afov/teachers/san-vit-b16_mmseg.py',
                           checkpoint='checkpoints/san-vit-b16_20230906-fd0a7684.pth',
                           name='san-vit-b16')
# the teacher's pseudo-labels of a scan as its pts_semantic_mask (no ground truth is read):
# LoadTeacherCache and PseudoLabelsAndSuperpoints take teacher, dictionary and
# teacher_cache_dir from the dataset base (afov_plugin/engine/teacher_setting.py); the
# ignore index is the dictionary's
teacher_pseudo_labels = [
    dict(type='PointPixelPairing'),
    dict(type='LoadTeacherCache'),
    dict(type='PseudoLabelsAndSuperpoints')]
# zero-shot protocol, after the ground truth is loaded: seen classes' ground truth kept (the
# rest dropped at once), then the teacher's labels for the unseen classes (class setting:
# class_names / unseen_classes / ignore_index from the dataset base)
zero_shot_labels = [dict(type='SeenClassGroundTruth')] + teacher_pseudo_labels + [
    dict(type='ZeroShotLabels')]
# the same with MCFA's 2D targets (seed 002 §3.4: the teacher's class prototypes and 6 x 8
# patch features, from the cached region maps), packed with the point -> patch index
zero_shot_mcfa_labels = [
    dict(type='SeenClassGroundTruth'), dict(type='PointPixelPairing'),
    dict(type='LoadTeacherCache', with_region_maps=True), dict(type='PseudoLabelsAndSuperpoints'),
    dict(type='MCFATargets', grid=(6, 8)), dict(type='ZeroShotLabels')]
seen_ground_truth = [dict(type='SeenClassGroundTruth', out_key='pts_semantic_mask')]
augmentation = [
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0])]
pack_labels = dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask'])
# (+ the teacher regions, for the text head's optional feature distillation)
pack_mcfa = dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask', 'pts_patch',
                                               'teacher_class_feat', 'teacher_class_area',
                                               'teacher_patch_feat', 'teacher_patch_area',
                                               'pts_superpoint', 'superpoint_feat'])
# the zero-shot training pipelines after the dataset's loading steps (the dataset bases put
# their points and ground-truth loading in front): seed 002's targets, with MCFA's, the
# seen-only lower bound's
zero_shot_after_loading = zero_shot_labels + augmentation + [pack_labels]
zero_shot_mcfa_after_loading = zero_shot_mcfa_labels + augmentation + [pack_mcfa]
seen_gt_after_loading = seen_ground_truth + augmentation + [pack_labels]
# test: ground truth for the metric and each point's camera (in-view / out-of-view)
pack_test = dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask', 'pts_cam'])
