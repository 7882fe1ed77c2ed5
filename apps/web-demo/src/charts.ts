/**
 * Live charts with Chart.js: loss and accuracy against the optimisation step (every batch as a
 * small point, every epoch as a larger one, so even a one-epoch run shows its points), and the
 * class probabilities of the drawn digit. Redraws are batched to one per animation frame so a
 * fast worker cannot flood the main thread.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartDataset,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

type Point = { x: number; y: number };

const COLORS = { batch: '#60a5fa', train: '#2563eb', val: '#ea580c' };

/** Point radius of a per-batch point and of a per-epoch one. */
const RADIUS = { batch: 1.5, epoch: 3.5 };

function lineDataset(
  label: string,
  color: string,
  perEpoch: boolean,
): ChartDataset<'line', Point[]> {
  return {
    label,
    data: [],
    borderColor: color,
    backgroundColor: color,
    borderWidth: perEpoch ? 2 : 1,
    pointRadius: perEpoch ? RADIUS.epoch : RADIUS.batch,
    tension: 0,
  };
}

function lineChart(
  canvas: HTMLCanvasElement,
  yTitle: string,
  datasets: ChartDataset<'line', Point[]>[],
  yMax?: number,
) {
  return new Chart<'line', Point[]>(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' }, min: 0 },
        y: { title: { display: true, text: yTitle }, min: 0, max: yMax },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

/** How many points a chart's dataset holds and how large they are drawn. */
export interface SeriesSummary {
  points: number;
  radius: number;
}

/** Loss and accuracy charts over training steps. */
export class TrainingCharts {
  private readonly loss: Chart<'line', Point[]>;
  private readonly accuracy: Chart<'line', Point[]>;
  private pending = false;

  constructor(lossCanvas: HTMLCanvasElement, accuracyCanvas: HTMLCanvasElement) {
    this.loss = lineChart(lossCanvas, 'cross-entropy', [
      lineDataset('train (batch)', COLORS.batch, false),
      lineDataset('validation', COLORS.val, true),
    ]);
    this.accuracy = lineChart(
      accuracyCanvas,
      'accuracy',
      [
        lineDataset('train (batch)', COLORS.batch, false),
        lineDataset('train (epoch)', COLORS.train, true),
        lineDataset('validation', COLORS.val, true),
      ],
      1,
    );
  }

  /** Every dataset's point count and radius, by chart and label (e.g. `accuracy/validation`). */
  series(): Record<string, SeriesSummary> {
    const out: Record<string, SeriesSummary> = {};
    for (const [name, chart] of [
      ['loss', this.loss],
      ['accuracy', this.accuracy],
    ] as const) {
      for (const ds of chart.data.datasets) {
        out[`${name}/${ds.label}`] = { points: ds.data.length, radius: Number(ds.pointRadius) };
      }
    }
    return out;
  }

  reset(): void {
    for (const chart of [this.loss, this.accuracy]) {
      for (const ds of chart.data.datasets) ds.data = [];
    }
    this.schedule();
  }

  /** One batch's loss and training accuracy. */
  addBatch(step: number, loss: number, accuracy: number): void {
    this.loss.data.datasets[0].data.push({ x: step, y: loss });
    this.accuracy.data.datasets[0].data.push({ x: step, y: accuracy });
    this.schedule();
  }

  addEpoch(
    step: number,
    r: { trainLoss: number; trainAccuracy: number; valLoss: number; valAccuracy: number },
  ): void {
    this.loss.data.datasets[1].data.push({ x: step, y: r.valLoss });
    this.accuracy.data.datasets[1].data.push({ x: step, y: r.trainAccuracy });
    this.accuracy.data.datasets[2].data.push({ x: step, y: r.valAccuracy });
    this.schedule();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.loss.update('none');
      this.accuracy.update('none');
    });
  }
}

/** A bar per class with the model's probability for the drawn digit. */
export class ProbabilityChart {
  private readonly chart: Chart<'bar', number[], string>;

  constructor(canvas: HTMLCanvasElement) {
    this.chart = new Chart(canvas, {
      type: 'bar',
      data: {
        labels: Array.from({ length: 10 }, (_, i) => String(i)),
        datasets: [
          { label: 'probability', data: new Array(10).fill(0), backgroundColor: '#94a3b8' },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { min: 0, max: 1 } },
        plugins: { legend: { display: false } },
      },
    });
  }

  show(probs: ArrayLike<number> | null): void {
    const values = probs ? Array.from(probs) : new Array(10).fill(0);
    const best = probs ? values.indexOf(Math.max(...values)) : -1;
    const ds = this.chart.data.datasets[0];
    ds.data = values;
    ds.backgroundColor = values.map((_, i) => (i === best ? '#16a34a' : '#94a3b8'));
    this.chart.update('none');
  }
}
