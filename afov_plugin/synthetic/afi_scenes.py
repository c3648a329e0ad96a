"""Small labelled scenes with known structure for AFI checks and benchmarks."""
import torch


def plane_wall_box_scene(n=12000, seed=0, noise=0.2):
    """Ground plane (class 0), a wall (class 1) and a small box on the ground (class 2);
    ``noise`` of the plane points get a wrong label (never the true one)."""
    g = torch.Generator().manual_seed(seed)
    ng, nw = int(n * 0.6), int(n * 0.35)
    nb = n - ng - nw
    ground = torch.cat([torch.rand(ng, 2, generator=g) * 40 - 20, torch.full((ng, 1), -1.8)], 1)
    wall = torch.cat([torch.rand(nw, 1, generator=g) * 40 - 20, torch.full((nw, 1), 12.0),
                      torch.rand(nw, 1, generator=g) * 6 - 1.8], 1)
    box = torch.rand(nb, 3, generator=g) * torch.tensor([1.0, 1.0, 1.5]) + torch.tensor(
        [5.0, 5.0, -1.6])
    xyz = torch.cat([ground, wall, box])
    truth = torch.cat([torch.zeros(ng), torch.ones(nw), torch.full((nb, ), 2.0)]).long()
    noisy = truth.clone()
    flip = (torch.rand(n, generator=g) < noise) & (truth < 2)
    noisy[flip] = (truth[flip] + torch.randint(1, 3, (int(flip.sum()), ), generator=g)) % 3
    return xyz, truth, noisy
