"""Collect the demo's measurements into work_dirs/demo/summary.json and print a table."""
import argparse
import glob
import json

import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from afov_plugin.fileio import atomic_write_text  # noqa: E402
from afov_plugin.synthetic.world_info import world_version  # noqa: E402


def test_metrics(test_dir: str) -> dict:
    logs = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))
    if not logs:
        raise FileNotFoundError(f'no metrics written by tools/test.py under {test_dir}')
    return json.load(open(logs[-1]))


def pct(v) -> float:
    return round(100.0 * float(v), 2)


# tasks comparing stage-2 variants at the same schedule against the plain student
VARIANTS = {'mixing': ('lasermix', 'polarmix'), 'text_head': ('text_head', )}


def variants_summary(args) -> None:
    """Stage 2 plain against its variants of the task (AFOV_DEMO_TASK=mixing: LaserMix /
    PolarMix; text_head: the text-embedding classifier)."""
    variants = VARIANTS[args.task]
    summary = {}
    for name in ('student', ) + variants:
        m = test_metrics(osp.join(args.work_dir, name, 'test'))
        summary.update({f'{name}_miou': pct(m['miou']),
                        f'{name}_miou_in_view': pct(m['miou_in_view']),
                        f'{name}_miou_out_of_view': pct(m['miou_out_of_view'])})
    for name in variants:
        summary[f'{name}_over_student'] = round(
            summary[f'{name}_miou'] - summary['student_miou'], 2)
    summary.update(data_root=args.data_root, config=args.config, iters=args.iters,
                   seconds=round(time.time() - args.start, 1))
    atomic_write_text(osp.join(args.work_dir, 'summary.json'), json.dumps(summary, indent=1))
    print(f"\n{'stage 2 (same schedule)':<30}{'mIoU':>8}{'in-view':>8}{'out-view':>9}")
    for name in ('student', ) + variants:
        print(f"{name:<30}{summary[f'{name}_miou']:>8}{summary[f'{name}_miou_in_view']:>8}"
              f"{summary[f'{name}_miou_out_of_view']:>9}")
    print(f"summary: {osp.join(args.work_dir, 'summary.json')} ({summary['seconds']} s)")


# the zero-shot demo's runs (work dir names) and their summary keys
ZEROSHOT_RUNS = (('self_training', 'zeroshot'), ('mcfa', 'zeroshot_no_self_training'),
                 ('zeroshot', 'zeroshot_no_mcfa'), ('upper', 'upper'), ('lower', 'lower'))


def zeroshot_targets(s: dict) -> dict:
    """Issue 22's targets, each as (value, bound, met)."""
    rows = dict(
        hmiou_over_upper=(s['zeroshot_hmiou'], 0.85 * s['upper_hmiou']),
        self_training_unseen_gain=(s['zeroshot_miou_unseen'],
                                   s['zeroshot_no_self_training_miou_unseen'] + 5),
        mcfa_hmiou_gain=(s['zeroshot_no_self_training_hmiou'], s['zeroshot_no_mcfa_hmiou'] + 1),
        seen_over_lower=(s['zeroshot_miou_seen'], 0.95 * s['lower_miou_seen']),
        over_projection=(s['zeroshot_hmiou'], s['projection_hmiou'] + 10))
    if 'query_map' in s:
        rows.update(query_over_projection=(s['query_map'], s['query_map_projection']),
                    query_over_prevalence=(s['query_map'], 5 * s['query_prevalence']))
    return {k: dict(value=v, bound=round(b, 2), met=bool(v >= b)) for k, (v, b) in rows.items()}


def zeroshot_summary(args) -> None:
    """The zero-shot protocol (AFOV_DEMO_TASK=zeroshot), in the seed's layout: seen / unseen /
    all mIoU and hmIoU of the final model (MCFA, then self-training), of phase 1 (MCFA, no
    self-training) and of the model without MCFA, the upper and lower bounds, and the
    teacher's projection (pseudo-labels as the prediction); the issue's targets."""
    from mmengine.config import Config
    from afov_plugin.evaluation import harmonic_miou
    unseen = list(Config.fromfile(args.config).unseen_classes)
    summary, per_class = {}, {}
    for model, key in ZEROSHOT_RUNS:
        m = test_metrics(osp.join(args.work_dir, model, 'test'))
        for metric in ('miou_seen', 'miou_unseen', 'miou', 'hmiou', 'hmiou_in_view',
                       'hmiou_out_of_view'):
            summary[f'{key}_{metric}'] = pct(m[metric])
        per_class[key] = {c: pct(m[c]) for c in unseen}
    report = json.load(open(osp.join(args.work_dir, 'pseudo_labels_val.json')))['per_class']
    iou = {c: row['iou'] for c, row in report.items() if row['iou'] == row['iou']}  # not NaN
    seen_iou = [v for c, v in iou.items() if c not in unseen]
    unseen_iou = [v for c, v in iou.items() if c in unseen]
    s = sum(seen_iou) / len(seen_iou) if seen_iou else 0.0  # as SeenUnseenSegMetric: no class, 0
    u = sum(unseen_iou) / len(unseen_iou) if unseen_iou else 0.0
    summary.update(projection_miou_seen=round(s, 2), projection_miou_unseen=round(u, 2),
                   projection_miou=round(sum(iou.values()) / len(iou), 2),
                   projection_hmiou=round(harmonic_miou(s, u), 2))
    per_class['projection'] = {c: report[c]['iou'] for c in unseen}
    retrieval = osp.join(args.work_dir, 'query', 'retrieval.json')
    if osp.isfile(retrieval):  # tools/query.py --retrieval on the final model
        r = json.load(open(retrieval))
        summary.update({k: r[k] for k in ('query_map', 'query_map_projection',
                                          'query_prevalence') if k in r},
                       query_categories=r.get('categories', {}))
    summary.update(unseen_classes=unseen, unseen_class_iou=per_class,
                   zeroshot_hmiou_over_upper=round(
                       summary['zeroshot_hmiou'] / summary['upper_hmiou'], 3)
                   if summary['upper_hmiou'] else None,
                   targets=zeroshot_targets(summary),
                   data_root=args.data_root, world_version=world_version(args.data_root),
                   iters=args.iters, self_training_iters=args.self_training_iters,
                   seconds=round(time.time() - args.start, 1))
    atomic_write_text(osp.join(args.work_dir, 'summary.json'), json.dumps(summary, indent=1))
    print(f"\n{'zero-shot protocol':<34}{'seen':>7}{'unseen':>8}{'all':>7}{'hmIoU':>7}")
    for key, label in (('upper', 'supervised, all classes (upper)'),
                       ('lower', 'supervised, seen classes (lower)'),
                       ('projection', "teacher's projection"),
                       ('zeroshot_no_mcfa', 'zero-shot, no MCFA, no ST'),
                       ('zeroshot_no_self_training', 'zero-shot, MCFA, no ST'),
                       ('zeroshot', 'zero-shot, MCFA + ST')):
        print(f"{label:<34}{summary[f'{key}_miou_seen']:>7}{summary[f'{key}_miou_unseen']:>8}"
              f"{summary[f'{key}_miou']:>7}{summary[f'{key}_hmiou']:>7}")
    for name, row in summary.get('query_categories', {}).items():
        print(f"query {name:<20} AP {row['ap']:>6} projection {row['ap_projection']:>6} "
              f"prevalence {row['prevalence']}")
    for name, row in summary['targets'].items():
        met = 'met' if row['met'] else 'NOT met'
        print(f"target {name}: {row['value']} >= {row['bound']}: {met}")
    print(f"summary: {osp.join(args.work_dir, 'summary.json')} ({summary['seconds']} s)")


def feature_knowledge_summary(args) -> None:
    """TMP figures at each κ of the simulated teacher's features (AFOV_DEMO_TASK=
    feature_knowledge): TMP -> stage 2, 1 % fine-tuning from TMP against random init, linear
    probing; a picture of the three against κ."""
    random_init = pct(test_metrics(osp.join(args.work_dir, 'finetune_1pct_random', 'test'))[
        'miou'])
    rows = []
    for k in args.feature_knowledge:
        run = {name: pct(test_metrics(osp.join(args.work_dir, f'fk{k}', name, 'test'))['miou'])
               for name in ('tmp_student', 'finetune_1pct_tmp', 'linear_probe_tmp')}
        rows.append(dict(feature_knowledge=float(k), tmp_student_miou=run['tmp_student'],
                         finetune_1pct_miou_tmp_init=run['finetune_1pct_tmp'],
                         finetune_1pct_tmp_over_random=round(
                             run['finetune_1pct_tmp'] - random_init, 2),
                         linear_probe_miou_tmp_init=run['linear_probe_tmp']))
    summary = dict(rows=rows, finetune_1pct_miou_random_init=random_init,
                   data_root=args.data_root, world_version=world_version(args.data_root),
                   tmp_iters=args.tmp_iters, tmp_student_iters=args.tmp_student_iters,
                   seconds=round(time.time() - args.start, 1))
    atomic_write_text(osp.join(args.work_dir, 'summary.json'), json.dumps(summary, indent=1))
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    kappas = [r['feature_knowledge'] for r in rows]
    for key, label in (('tmp_student_miou', 'TMP -> stage 2'),
                       ('finetune_1pct_miou_tmp_init', '1 % labels, TMP init'),
                       ('linear_probe_miou_tmp_init', 'linear probe of TMP')):
        ax.plot(kappas, [r[key] for r in rows], 'o-', label=label)
    ax.axhline(random_init, color='grey', ls='--', label='1 % labels, random init')
    ax.set_xlabel('feature_knowledge κ of the simulated teacher')
    ax.set_ylabel('val mIoU (%)')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(osp.join(args.work_dir, 'feature_knowledge.png'), dpi=120)
    print(f"\n{'κ':>5}{'TMP->stage 2':>14}{'1 % TMP':>9}{'1 % random':>12}{'probe':>8}")
    for r in rows:
        print(f"{r['feature_knowledge']:>5}{r['tmp_student_miou']:>14}"
              f"{r['finetune_1pct_miou_tmp_init']:>9}{random_init:>12}"
              f"{r['linear_probe_miou_tmp_init']:>8}")
    print(f"summary: {osp.join(args.work_dir, 'summary.json')} ({summary['seconds']} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--config', required=True)
    parser.add_argument('--cache-dir', required=True)
    parser.add_argument('--iters', type=int, required=True)
    parser.add_argument('--tmp-iters', type=int, required=True)
    parser.add_argument('--tmp-student-iters', type=int,
                        help='iterations of stage 2 from the TMP init (default: --iters)')
    parser.add_argument('--self-training-iters', type=int, default=None,
                        help='phase-2 iterations of the zeroshot task')
    parser.add_argument('--start', type=float, required=True)
    parser.add_argument('--task', choices=['main', 'feature_knowledge', 'zeroshot'] +
                        list(VARIANTS),
                        default='main')
    parser.add_argument('--feature-knowledge', nargs='*', default=[],
                        help='the κ values of the feature_knowledge task')
    args = parser.parse_args()
    if args.task in VARIANTS:
        return variants_summary(args)
    if args.task == 'feature_knowledge':
        return feature_knowledge_summary(args)
    if args.task == 'zeroshot':
        return zeroshot_summary(args)
    tmp_student_iters = args.tmp_student_iters or args.iters
    pl = json.load(open(osp.join(args.work_dir, 'pseudo_labels_val.json')))
    student = test_metrics(osp.join(args.work_dir, 'student', 'test'))
    supervised = test_metrics(osp.join(args.work_dir, 'supervised', 'test'))
    afi = test_metrics(osp.join(args.work_dir, 'student_afi', 'test'))
    tmp = {name: test_metrics(osp.join(args.work_dir, name, 'test')) for name in (
        'tmp_student', 'finetune_1pct_random', 'finetune_1pct_tmp', 'linear_probe_tmp')
        if osp.isdir(osp.join(args.work_dir, name, 'test'))}  # absent with AFOV_DEMO_TMP=0
    with_tmp = len(tmp) == 4
    summary = dict(
        teacher_projection_miou=pl['teacher_projection_miou'],
        pseudo_label_coverage=pl['coverage'],
        pseudo_label_coverage_labelled=pl.get('coverage_labelled'),
        pseudo_label_accuracy=pl['accuracy'],
        student_miou=pct(student['miou']),
        student_miou_in_view=pct(student['miou_in_view']),
        student_miou_out_of_view=pct(student['miou_out_of_view']),
        afi_miou=pct(afi['miou']),
        afi_miou_in_view=pct(afi['miou_in_view']),
        afi_miou_out_of_view=pct(afi['miou_out_of_view']),
        supervised_miou=pct(supervised['miou']),
        supervised_miou_in_view=pct(supervised['miou_in_view']),
        supervised_miou_out_of_view=pct(supervised['miou_out_of_view']),
        data_root=args.data_root, world_version=world_version(args.data_root),
        cache_dir=args.cache_dir,
        student_checkpoint=osp.join(args.work_dir, 'student', f'iter_{args.iters}.pth'),
        supervised_checkpoint=osp.join(args.work_dir, 'supervised', f'iter_{args.iters}.pth'),
        config=args.config, iters=args.iters, seconds=round(time.time() - args.start, 1))
    summary['student_over_teacher_projection'] = round(
        summary['student_miou'] - summary['teacher_projection_miou'], 2)
    summary['student_over_supervised'] = round(
        summary['student_miou'] / max(summary['supervised_miou'], 1e-9), 3)
    # the student's worth beyond the cameras: it labels the points no camera sees
    summary['student_over_teacher_projection_ratio'] = round(
        summary['student_miou'] / max(summary['teacher_projection_miou'], 1e-9), 3)
    summary['student_out_of_view_over_in_view'] = round(
        summary['student_miou_out_of_view'] / max(summary['student_miou_in_view'], 1e-9), 3)
    if with_tmp:
        summary.update(
            tmp_student_miou=pct(tmp['tmp_student']['miou']),
            tmp_student_miou_in_view=pct(tmp['tmp_student']['miou_in_view']),
            tmp_student_miou_out_of_view=pct(tmp['tmp_student']['miou_out_of_view']),
            finetune_1pct_miou_random_init=pct(tmp['finetune_1pct_random']['miou']),
            finetune_1pct_miou_tmp_init=pct(tmp['finetune_1pct_tmp']['miou']),
            linear_probe_miou_tmp_init=pct(tmp['linear_probe_tmp']['miou']),
            tmp_checkpoint=osp.join(args.work_dir, 'tmp', f'iter_{args.tmp_iters}.pth'),
            tmp_student_iters=tmp_student_iters,
            tmp_student_checkpoint=osp.join(args.work_dir, 'tmp_student',
                                            f'iter_{tmp_student_iters}.pth'))
        summary['tmp_student_over_student'] = round(
            summary['tmp_student_miou'] - summary['student_miou'], 2)
        summary['finetune_1pct_tmp_over_random'] = round(
            summary['finetune_1pct_miou_tmp_init'] - summary['finetune_1pct_miou_random_init'],
            2)
    summary['afi_over_student'] = round(summary['afi_miou'] - summary['student_miou'], 2)
    atomic_write_text(osp.join(args.work_dir, 'summary.json'), json.dumps(summary, indent=1))
    rows = [('teacher projection (unlabelled = wrong)', summary['teacher_projection_miou'], '',
             ''),
            ('AFOV stage 2 student (annotation-free)', summary['student_miou'],
             summary['student_miou_in_view'], summary['student_miou_out_of_view']),
            ('student + AFI post-processing', summary['afi_miou'], summary['afi_miou_in_view'],
             summary['afi_miou_out_of_view']),
            ('fully supervised (same config, GT labels)', summary['supervised_miou'],
             summary['supervised_miou_in_view'], summary['supervised_miou_out_of_view'])]
    if with_tmp:
        rows[3:3] = [
            ('TMP -> stage 2 student', summary['tmp_student_miou'],
             summary['tmp_student_miou_in_view'], summary['tmp_student_miou_out_of_view']),
            ('1 % labels, random init', summary['finetune_1pct_miou_random_init'], '', ''),
            ('1 % labels, TMP init', summary['finetune_1pct_miou_tmp_init'], '', ''),
            ('linear probe of TMP (all labels)', summary['linear_probe_miou_tmp_init'], '', '')]
    print(f"\n{'method':<44}{'mIoU':>8}{'in-view':>8}{'out-view':>9}")
    for name, a, b, c in rows:
        print(f'{name:<44}{a:>8}{b:>8}{c:>9}')
    print(f"pseudo-labels (val): coverage {summary['pseudo_label_coverage']} %, accuracy "
          f"{summary['pseudo_label_accuracy']} %")
    print(f"summary: {osp.join(args.work_dir, 'summary.json')} ({summary['seconds']} s)")


if __name__ == '__main__':
    main()
