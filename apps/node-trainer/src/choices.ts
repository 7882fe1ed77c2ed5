/** What `--backend` accepts: `auto` or one backend Node can run. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** A `--backend` value. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** What `--freeze` accepts: `backbone` trains only the classifier head (`fc`). */
export const FREEZE_CHOICES = ['backbone'] as const;
