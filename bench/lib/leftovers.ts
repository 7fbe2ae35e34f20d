// After a run: anything named for this run still on prod or debug (containers, temporary files),
// and any extra lab host still here (its folders, keys, listening port), which would be a
// benchmark's cleanup failing. Only names carrying the run's tag or bench host names are looked at.
import { existsSync } from 'node:fs';
import { benchHostSpecs, maxBenchHosts } from '../../lab/benchHosts';
import { portIsFree } from '../../lab/hosts';
import { labFiles } from '../../lab/paths';
import { ssh } from './openssh';

export async function leftoversOnHosts(sshConfig: string, tag: string): Promise<string[]> {
  const prefix = `snapdebug-bench-${tag}`;
  const found: string[] = [];
  for (const host of ['prod', 'debug']) {
    const out = await ssh(sshConfig, host, `podman ps --all --format '{{.Names}}'; ls -1 /var/tmp /tmp`).catch(() => '');
    for (const name of out.split('\n')) if (name.includes(prefix)) found.push(`${host}:${name}`);
  }
  return found;
}

export async function leftoversHere(): Promise<string[]> {
  const found: string[] = [];
  for (const spec of benchHostSpecs(maxBenchHosts)) {
    if (existsSync(labFiles.hostState(spec.name))) found.push(labFiles.hostState(spec.name));
    if (existsSync(labFiles.hostKeys(spec.name))) found.push(labFiles.hostKeys(spec.name));
    if (!(await portIsFree(spec.sshPort))) found.push(`127.0.0.1:${spec.sshPort} still listening`);
  }
  return found;
}
