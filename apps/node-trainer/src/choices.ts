/** What `--freeze` accepts: `backbone` trains only the classifier head (`fc`). */
export const FREEZE_CHOICES = ['backbone'] as const;
