/** A grid of test digits, each with the model's prediction; wrong ones are marked. */

const SIZE = 28;

export function renderDigitGrid(
  container: HTMLElement,
  pixels: Uint8Array,
  labels: Int32Array,
  predictions: Int32Array,
): void {
  const figures: HTMLElement[] = [];
  for (let i = 0; i < labels.length; i++) {
    const canvas = document.createElement('canvas');
    canvas.width = SIZE;
    canvas.height = SIZE;
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(SIZE, SIZE);
    for (let p = 0; p < SIZE * SIZE; p++) {
      const v = pixels[i * SIZE * SIZE + p];
      img.data[p * 4] = v;
      img.data[p * 4 + 1] = v;
      img.data[p * 4 + 2] = v;
      img.data[p * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    const wrong = predictions[i] !== labels[i];
    const fig = document.createElement('figure');
    fig.className = wrong ? 'wrong' : 'right';
    fig.dataset.label = String(labels[i]);
    fig.dataset.prediction = String(predictions[i]);
    const cap = document.createElement('figcaption');
    cap.textContent = wrong ? `${predictions[i]} (${labels[i]})` : String(predictions[i]);
    canvas.setAttribute('role', 'img');
    canvas.setAttribute(
      'aria-label',
      `digit ${labels[i]}, predicted ${predictions[i]}${wrong ? ' (wrong)' : ''}`,
    );
    fig.append(canvas, cap);
    figures.push(fig);
  }
  container.replaceChildren(...figures);
}
