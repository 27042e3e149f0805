"""The generator's learned convolutions walked by hand from the architecture: parameter and FLOP
counts that the built models and the traced graphs are checked against."""
from gain_tf.guidance import guidance_for


def convolutions(cfg):
    """Every learned convolution of the generator as ``(k, c_in, c_out, stride)``, where stride is
    the output's downscaling against the input image, walked from the architecture as the README
    describes it (GAI-Blocks: Pconv_II, Pconv_GG, Pconv_GI, Pconv_IG)."""
    m = cfg.model
    gain, guided = m.fusion == "gai", m.guidance != "none"
    channels = guidance_for(m).channels
    out = []

    def block(k, ci_in, cg_in, ci, cg, scale):
        out.append((k, ci_in, ci, scale))                # Pconv_II
        if guided:
            out.append((k, cg_in, cg, scale))            # Pconv_GG
            if gain:
                out.append((k, cg_in, ci, scale))        # Pconv_GI
                out.append((3, 2 * ci, cg, scale))       # Pconv_IG on the gradient of I1

    ci0, cg0 = m.image_channels, m.gradient_channels if guided else 0
    for n_dil in (m.structure_dilation_blocks, m.content_dilation_blocks):
        block(m.entry_kernel, 3, channels, ci0, cg0, 1)
        ci, cg, scale = ci0, cg0, 1
        for _ in range(m.num_downsamples):
            scale *= 2
            block(m.down_kernel, ci, cg, 2 * ci, 2 * cg, scale)
            ci, cg = 2 * ci, 2 * cg
        for _ in range(n_dil * len(m.dilations)):
            block(3, ci, cg, ci, cg, scale)
    ci_in, cg_in = 2 * ci, 2 * cg  # decoder input: both branches concatenated
    for _ in range(m.num_downsamples):
        ci, cg, scale = ci // 2, cg // 2, scale // 2  # channels halve at each upsampling
        block(3, ci_in, cg_in, ci, cg, scale)
        ci_in, cg_in = ci, cg
    block(3, ci, cg, 3, channels, 1)
    return out


def hand_count(cfg):
    """Generator parameters, counted from the architecture (kernels and biases)."""
    return sum(k * k * cin * cout + cout for k, cin, cout, _ in convolutions(cfg))


def hand_flops(cfg, size):
    """FLOPs (multiply and add) of the generator's learned convolutions on a size² image."""
    return sum(2 * k * k * cin * cout * (size // s) ** 2 for k, cin, cout, s in convolutions(cfg))
