/**
 * What a newcomer sees first: the three-step intro (dismissed once, remembered), the
 * "untrained" notice over the test digits until a model has been trained or loaded, and the
 * switch between the digits page and the "Your images" mode.
 */

/** Where the intro's dismissal is remembered. */
const INTRO_KEY = 'resnet-ts-demo:intro-dismissed';

/** Shows the intro unless it was dismissed before; its button dismisses it for good. */
export function setupIntro(
  intro: HTMLElement,
  dismiss: HTMLButtonElement,
  after: HTMLElement,
): void {
  intro.hidden = readFlag(INTRO_KEY);
  dismiss.addEventListener('click', () => {
    intro.hidden = true;
    writeFlag(INTRO_KEY);
    // Keyboard users continue where the intro pointed them, not at the top of the page.
    after.focus();
  });
}

/** The notice over the test digits; `hide()` once weights worth looking at exist. */
export interface UntrainedNotice {
  hide(): void;
  readonly shown: boolean;
}

/** Shows `notice` until the returned handle's `hide()`. */
export function untrainedNotice(notice: HTMLElement): UntrainedNotice {
  notice.hidden = false;
  return {
    hide: () => {
      notice.hidden = true;
    },
    get shown() {
      return !notice.hidden;
    },
  };
}

/** The page's modes: the embedded digits, or a folder of the user's pictures. */
export type Mode = 'digits' | 'images';

/**
 * Wires the mode buttons (`data-mode`, `aria-pressed`) to the panes; `?mode=images` opens
 * the second mode, and the address follows the choice so a reload keeps it.
 */
export function setupModes(
  buttons: HTMLButtonElement[],
  panes: Record<Mode, HTMLElement>,
  onShow: (mode: Mode) => void,
): void {
  const show = (mode: Mode) => {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
    for (const [name, pane] of Object.entries(panes)) pane.hidden = name !== mode;
    onShow(mode);
  };
  for (const b of buttons) {
    b.addEventListener('click', () => {
      const mode = b.dataset.mode as Mode;
      const url = new URL(location.href);
      if (mode === 'digits') url.searchParams.delete('mode');
      else url.searchParams.set('mode', mode);
      history.replaceState(null, '', url);
      show(mode);
    });
  }
  show(new URLSearchParams(location.search).get('mode') === 'images' ? 'images' : 'digits');
}

/** localStorage can be off (privacy settings, sandboxed frames): then nothing is remembered. */
function readFlag(key: string): boolean {
  try {
    return localStorage.getItem(key) === '1';
  } catch {
    return false;
  }
}

function writeFlag(key: string): void {
  try {
    localStorage.setItem(key, '1');
  } catch {
    // Not remembered; the intro shows again next time.
  }
}
