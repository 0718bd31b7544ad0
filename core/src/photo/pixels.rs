//! The pixel buffer passed between the pipeline's steps: 8-bit, no alpha, grey or RGB.

/// Channels per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Grey,
    Rgb,
}

/// Row-major, tightly packed pixels: `data.len() == width * height * layout.channels()`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Pixels {
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pixels({}×{} {:?})",
            self.width, self.height, self.layout
        )
    }
}
