"""Teacher-quality sweep (paper Tab. 3-4): for each simulated teacher profile and world seed,
cache the teacher, report its pseudo-labels, train stage 2 and evaluate the student.

  python tools/teacher_sweep.py [--profiles san catseg fcclip maskclip] [--seeds 0 1]
      [--iters 1000] [--scenes 20] [--frames 16] [--work-dir work_dirs/teacher_sweep]

Seed 0 reuses the demo's set (data/synthetic_nuscenes) when it exists; other seeds generate
data/synthetic_nuscenes_seed<S>. Writes <work-dir>/sweep.json, sweep.md (table) and sweep.png
(student mIoU and teacher-projection mIoU per profile), and says whether the students rank as
their teachers do (same order; Spearman's rank correlation). Reruns reuse caches, and a
profile's checkpoint, pseudo-label report and evaluation when they are in its work dir.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from afov_plugin.fileio import atomic_write_text  # noqa: E402
from afov_plugin.synthetic.world_info import outdated_world_message  # noqa: E402

STAGE2 = 'configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py'
VERSION = 'v1.0-trainval'  # the synthetic configs' version folder (as tools/demo.sh)


def run(args):
    print('[sweep]', ' '.join(args), flush=True)
    subprocess.run([sys.executable] + args, check=True)


def dataset(seed: int, scenes: int, frames: int, scale: float) -> str:
    root = 'data/synthetic_nuscenes' if seed == 0 else f'data/synthetic_nuscenes_seed{seed}'
    if osp.exists(root) and not osp.isdir(osp.join(root, VERSION)):
        sys.exit(f'{root} is not a {VERSION} set (written by an older tools/demo.sh?): move it '
                 'away and rerun to generate it again')
    outdated = outdated_world_message(root, fix='rerun to generate it again')
    if outdated:
        sys.exit(outdated)
    if not osp.exists(osp.join(root, 'nuscenes_infos_val.pkl')):
        run(['tools/create_synthetic.py', '--format', 'nuscenes', '--out', root, '--scenes',
             str(scenes), '--frames', str(frames), '--image-scale', str(scale), '--seed',
             str(seed), '--version', VERSION])
        run(['tools/create_data.py', 'nuscenes', '--root-path', root, '--out-dir', root,
             '--version', VERSION])
    return root


def train_and_test_profile(root: str, profile: str, iters: int, work: str) -> dict:
    cache_opts = [f'teacher.profile={profile}']  # the cache folder follows the profile
    run(['tools/cache_teacher.py', STAGE2, '--data-root', root, '--cfg-options'] + cache_opts)
    report = osp.join(work, 'pseudo_labels_val.json')
    if not osp.exists(report):
        run(['tools/pseudo_label_report.py', STAGE2, '--data-root', root, '--split', 'val',
             '--out', report, '--cfg-options'] + cache_opts)
    ckpt = osp.join(work, f'iter_{iters}.pth')
    if not osp.exists(ckpt):
        run(['tools/train.py', STAGE2, '--work-dir', work, '--data-root', root, '--cfg-options',
             f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
             f'default_hooks.checkpoint.interval={iters}'] + cache_opts)
    test_dir = osp.join(work, 'test')
    results = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))
    if not results or osp.getmtime(results[-1]) < osp.getmtime(ckpt):
        run(['tools/test.py', STAGE2, ckpt, '--work-dir', test_dir, '--data-root', root])
        results = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))
    metrics = json.load(open(results[-1]))
    pl = json.load(open(report))
    return dict(coverage=pl['coverage'], accuracy=pl['accuracy'],
                teacher_projection_miou=pl['teacher_projection_miou'],
                student_miou=round(100 * metrics['miou'], 2),
                student_miou_in_view=round(100 * metrics['miou_in_view'], 2),
                student_miou_out_of_view=round(100 * metrics['miou_out_of_view'], 2))


def ranks(values):
    """Rank of each value, 0 = largest."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    return [order.index(i) for i in range(len(values))]


def ranking_agreement(rows) -> dict:
    """Per world seed: whether the students rank exactly as their teachers (teacher-projection
    mIoU) and Spearman's rank correlation between the two (1 = same order)."""
    out = {}
    for seed in sorted({r['seed'] for r in rows}):
        sub = [r for r in rows if r['seed'] == seed]
        t = ranks([r['teacher_projection_miou'] for r in sub])
        s = ranks([r['student_miou'] for r in sub])
        n = len(sub)
        rho = 1.0 if n < 2 else 1 - 6 * sum((a - b) ** 2 for a, b in zip(t, s)) / (n * (n * n - 1))
        out[str(seed)] = dict(same_order=t == s, spearman=round(rho, 3))
    return out


def picture(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    seeds = sorted({r['seed'] for r in rows})
    profiles = list(dict.fromkeys(r['profile'] for r in rows))
    fig, axes = plt.subplots(1, len(seeds), figsize=(5 * len(seeds), 4), squeeze=False)
    for ax, seed in zip(axes[0], seeds):
        sub = {r['profile']: r for r in rows if r['seed'] == seed}
        x = range(len(profiles))
        ax.bar([i - 0.2 for i in x], [sub[p]['teacher_projection_miou'] for p in profiles],
               0.4, label='teacher projection')
        ax.bar([i + 0.2 for i in x], [sub[p]['student_miou'] for p in profiles], 0.4,
               label='stage-2 student')
        ax.set_xticks(list(x), profiles)
        ax.set_ylabel('val mIoU (%)')
        ax.set_title(f'world seed {seed}')
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--profiles', nargs='+', default=['san', 'catseg', 'fcclip',
                                                          'maskclip'])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--iters', type=int, default=1000)
    parser.add_argument('--scenes', type=int, default=20)
    parser.add_argument('--frames', type=int, default=16)
    parser.add_argument('--image-scale', type=float, default=0.5)
    parser.add_argument('--work-dir', default='work_dirs/teacher_sweep')
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        root = dataset(seed, args.scenes, args.frames, args.image_scale)
        for profile in args.profiles:
            work = osp.join(args.work_dir, f'seed{seed}', profile)
            os.makedirs(work, exist_ok=True)
            rows.append(dict(seed=seed, profile=profile, data_root=root,
                             **train_and_test_profile(root, profile, args.iters, work)))
    consistent = ranking_agreement(rows)
    out = dict(iters=args.iters, rows=rows, student_ranking_follows_teacher=consistent)
    atomic_write_text(osp.join(args.work_dir, 'sweep.json'), json.dumps(out, indent=1))
    lines = ['| seed | profile | coverage | accuracy | teacher projection mIoU | student mIoU '
             '| in-view | out-of-view |', '|---|---|---|---|---|---|---|---|']
    lines += [f"| {r['seed']} | {r['profile']} | {r['coverage']} | {r['accuracy']} | "
              f"{r['teacher_projection_miou']} | {r['student_miou']} | "
              f"{r['student_miou_in_view']} | {r['student_miou_out_of_view']} |" for r in rows]
    lines.append(f'\nstudents rank as their teachers (per seed): {consistent}')
    atomic_write_text(osp.join(args.work_dir, 'sweep.md'), '\n'.join(lines) + '\n')
    picture(rows, osp.join(args.work_dir, 'sweep.png'))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
