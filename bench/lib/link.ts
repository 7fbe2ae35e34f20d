// A benchmark that needs the lab's link shaped one way: shaped so for the benchmark, and put back
// as it was by the benchmark's cleanup, whatever happens.
import { labLink } from '../../lab/linkProfile';
import type { LinkProfile } from '../../lab/shaping';
import { readState } from '../../lab/state';
import type { BenchContext } from './context';

export async function useLinkProfile(ctx: BenchContext, profile: LinkProfile): Promise<void> {
  const before: LinkProfile = readState()?.link ?? 'off';
  if (before === profile) return;
  ctx.cleanup.add(`the lab's link back to ${before}`, () => labLink(before, ctx.say));
  await labLink(profile, ctx.say);
}
