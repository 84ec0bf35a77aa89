/** The message of anything thrown: an Error's message, or the value as text. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Why a file could not be read, in a few words (no such file, permission denied...). */
export function fsReason(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return messageOf(err);
}
