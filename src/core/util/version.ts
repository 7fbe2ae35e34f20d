// Comparing the dotted versions tools print (podman 5.4.2, CRIU 4.2.1, "1.3.0~rc1").

/** Whether `version` is at least `minimum` ([major, minor, ...]); missing or odd parts count as 0. */
export function versionAtLeast(version: string, minimum: number[]): boolean {
  const parts = version.split(/[.+~-]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < minimum.length; i++) {
    const part = Number.isNaN(parts[i]) ? 0 : parts[i]!;
    if (part !== minimum[i]) return part > minimum[i]!;
  }
  return true;
}
