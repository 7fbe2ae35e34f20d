// Checks run at once, answered as if run in turn: the first refusal in the given order wins,
// whichever arrived first, so the same situation always gives the same error.

/** Awaits every check; throws the first refusal in order, else returns every answer. */
export async function firstRefusalInOrder<T extends readonly unknown[]>(checks: readonly [...T]): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(checks);
  const refused = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) throw refused.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
