import torch

from core.models.uflow.flow import build_uflow, nll_per_image, plan_layout


def _perturb(flow, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            if p.requires_grad:
                p.add_(0.1 * torch.randn(p.shape, generator=g))


def test_layout_splits_half_and_keeps_pixel_shuffle_divisible():
    layout = plan_layout([320, 112, 40])
    assert layout.stage_channels == (320, 152, 59)
    assert layout.latent_channels == (160, 76, 59)
    assert all(c % 4 == 0 for c in layout.up_channels)


def test_without_context_each_scale_is_a_flow_of_its_own():
    layout = plan_layout([320, 112, 40], context=False)
    assert layout.stage_channels == layout.latent_channels == (320, 112, 40) and layout.up_channels == ()
    flow, _ = build_uflow([16, 8], steps=2, context=False)
    _perturb(flow)
    coarse, fine = torch.randn(2, 16, 3, 5), torch.randn(2, 8, 6, 10)
    z, _ = flow([coarse, fine])
    assert [tuple(t.shape) for t in z] == [(2, 16, 3, 5), (2, 8, 6, 10)]
    z_other, _ = flow([torch.randn(2, 16, 3, 5), fine])
    assert torch.equal(z[1], z_other[1])  # the fine latents do not see the coarse scale
    with_context, _ = build_uflow([16, 8], steps=2)
    _perturb(with_context)
    a, _ = with_context([coarse, fine])
    b, _ = with_context([torch.randn(2, 16, 3, 5), fine])
    assert not torch.allclose(a[1], b[1])  # the U shape carries it into them


def test_flow_is_invertible_on_any_aspect():
    flow, _ = build_uflow([16, 8], steps=2)
    _perturb(flow)
    x = [torch.randn(3, 16, 3, 5), torch.randn(3, 8, 6, 10)]
    z, log_det = flow(x)
    assert [tuple(t.shape) for t in z] == [(3, 8, 3, 5), (3, 10, 6, 10)]
    back, _ = flow(list(z), rev=True)
    for a, b in zip(x, back):
        assert torch.allclose(a, b, atol=1e-5)
    assert log_det.shape == (3,)


def test_log_det_matches_numerical_jacobian():
    torch.set_default_dtype(torch.float64)
    try:
        flow, _ = build_uflow([8, 4], steps=2)
        flow = flow.double()
        _perturb(flow)
        shapes = [(8, 1, 1), (4, 2, 2)]
        sizes = [8, 16]

        def f(flat):
            parts = torch.split(flat, sizes)
            z, _ = flow([p.view(1, *s) for p, s in zip(parts, shapes)])
            return torch.cat([t.flatten() for t in z])

        x = torch.randn(sum(sizes))
        jac = torch.autograd.functional.jacobian(f, x)
        _, log_det = flow([p.view(1, *s) for p, s in zip(torch.split(x, sizes), shapes)])
        sign, logabs = torch.linalg.slogdet(jac)
        assert float(sign) != 0
        assert abs(float(logabs) - float(log_det[0].detach())) < 1e-6
    finally:
        torch.set_default_dtype(torch.float32)


def test_nll_is_per_image():
    z = [torch.ones(2, 3, 2, 2)]
    nll = nll_per_image(z, torch.tensor([1.0, 0.0]))
    assert torch.allclose(nll, torch.tensor([5.0, 6.0]))


def test_identity_at_start():
    flow, _ = build_uflow([8, 4], steps=4)
    x = [torch.randn(2, 8, 2, 2), torch.randn(2, 4, 4, 4)]
    _, log_det = flow(x)
    assert torch.allclose(log_det, torch.zeros(2))
