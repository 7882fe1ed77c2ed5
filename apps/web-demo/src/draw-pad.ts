/**
 * A canvas to draw a digit on with mouse, pen or touch (pointer events), turned into a
 * 28×28 image the way MNIST digits were made: the ink's bounding box scaled to fit 20×20,
 * then placed so its centre of mass sits at the centre of the 28×28 frame.
 */

const SIZE = 28;
const BOX = 20;

export interface DrawPad {
  /** The current drawing as 784 floats in [0, 1] (white ink on black), or null when blank. */
  pixels(): Float32Array | null;
  /** True while a stroke is under way (pointer down). */
  drawing(): boolean;
  clear(): void;
  /**
   * Puts a 28×28 greyscale digit (uint8, white ink on black, e.g. an MNIST test digit) on
   * the pad, scaled to fill it, and asks for its prediction: the keyboard's way to draw.
   */
  showDigit(pixels: ArrayLike<number>): void;
}

export function createDrawPad(canvas: HTMLCanvasElement, onChange: () => void): DrawPad {
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  let drawing = false;
  let last: { x: number; y: number } | null = null;
  let inked = false;

  const reset = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    inked = false;
  };
  reset();

  const toCanvas = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) / r.width) * canvas.width,
      y: ((e.clientY - r.top) / r.height) * canvas.height,
    };
  };

  const stroke = (to: { x: number; y: number }) => {
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = canvas.width / 12;
    ctx.beginPath();
    if (last) {
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    } else {
      ctx.arc(to.x, to.y, ctx.lineWidth / 2, 0, Math.PI * 2);
      ctx.fill();
    }
    last = to;
    inked = true;
  };

  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    last = null;
    try {
      canvas.setPointerCapture(e.pointerId);
    } catch {
      // A pointer that is already gone cannot be captured; the stroke still draws.
    }
    stroke(toCanvas(e));
    onChange();
    e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    // Pens and touch screens deliver more points than frames; use them all for a smooth line.
    const events = e.getCoalescedEvents?.() ?? [e];
    for (const ev of events.length > 0 ? events : [e]) stroke(toCanvas(ev));
    onChange();
    e.preventDefault();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    // The finished stroke's prediction is the settled one.
    onChange();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  return {
    pixels: () => (inked ? toMnist(canvas) : null),
    drawing: () => drawing,
    clear: () => {
      reset();
      onChange();
    },
    showDigit: (pixels) => {
      const small = document.createElement('canvas');
      small.width = SIZE;
      small.height = SIZE;
      const sctx = small.getContext('2d')!;
      const img = sctx.createImageData(SIZE, SIZE);
      for (let p = 0; p < SIZE * SIZE; p++) {
        img.data.fill(pixels[p], p * 4, p * 4 + 3);
        img.data[p * 4 + 3] = 255;
      }
      sctx.putImageData(img, 0, 0);
      reset();
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
      inked = pixels.length > 0 && Array.prototype.some.call(pixels, (v: number) => v > 0);
      onChange();
    },
  };
}

/** Crops, scales and centres the ink like MNIST's preprocessing. */
function toMnist(canvas: HTMLCanvasElement): Float32Array | null {
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const { width, height } = canvas;
  const data = ctx.getImageData(0, 0, width, height).data;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[(y * width + x) * 4] > 0) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return null;
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  const scale = BOX / Math.max(w, h);
  const sw = Math.max(1, Math.round(w * scale));
  const sh = Math.max(1, Math.round(h * scale));

  const small = document.createElement('canvas');
  small.width = SIZE;
  small.height = SIZE;
  const sctx = small.getContext('2d', { willReadFrequently: true })!;
  sctx.imageSmoothingQuality = 'high';
  sctx.drawImage(canvas, minX, minY, w, h, 0, 0, sw, sh);
  const box = sctx.getImageData(0, 0, sw, sh).data;

  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const v = box[(y * sw + x) * 4] / 255;
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  }
  const ox = Math.round(SIZE / 2 - (mass > 0 ? cx / mass : sw / 2));
  const oy = Math.round(SIZE / 2 - (mass > 0 ? cy / mass : sh / 2));
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const tx = x + ox;
      const ty = y + oy;
      if (tx >= 0 && tx < SIZE && ty >= 0 && ty < SIZE) {
        out[ty * SIZE + tx] = box[(y * sw + x) * 4] / 255;
      }
    }
  }
  return out;
}
