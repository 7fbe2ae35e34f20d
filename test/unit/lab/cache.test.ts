// The lab's cache parts are keyed by their own inputs: a change to one host kind's recipe rebuilds
// that root only, a new demo service only the images, a shared host file every root but not the
// images. Checked on a copy of lab/, changed file by file.
import { strict as assert } from 'node:assert';
import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { partHash, partInputs } from '../../../lab/cache';
import { labDir } from '../../../lab/paths';
import { makeTempDir } from '../helpers';

const parts = ['trixie', 'sid', 'bookworm', 'images'] as const;

describe('lab cache parts', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let lab: string;
  const hashes = () => Object.fromEntries(parts.map((p) => [p, partHash(p, lab)]));
  /** Which parts a change rebuilds. */
  const rebuilt = (change: () => void): string[] => {
    const before = hashes();
    change();
    const after = hashes();
    return parts.filter((p) => before[p] !== after[p]);
  };
  beforeEach(() => {
    temp = makeTempDir('labcache');
    lab = join(temp.dir, 'lab');
    for (const folder of ['recipe', 'demo-api', 'demo-python', 'demo-native']) cpSync(join(labDir, folder), join(lab, folder), { recursive: true });
  });
  afterEach(() => temp.cleanup());

  it('each part has its own key', () => {
    assert.equal(new Set(Object.values(hashes())).size, parts.length);
  });

  it('a host kind\'s own files rebuild that root only', () => {
    assert.deepEqual(rebuilt(() => appendFileSync(join(lab, 'recipe', 'hosts', 'sid.sh'), '# changed\n')), ['sid']);
    assert.deepEqual(rebuilt(() => appendFileSync(join(lab, 'recipe', 'hosts', 'bookworm.containers.conf'), '# changed\n')), ['bookworm']);
    assert.deepEqual(rebuilt(() => appendFileSync(join(lab, 'recipe', 'hosts', 'trixie.sh'), '# changed\n')), ['trixie']);
  });

  it('a shared host file or the host recipe rebuilds every root, not the images', () => {
    assert.deepEqual(rebuilt(() => appendFileSync(join(lab, 'recipe', 'host-files', 'sudoers-snapdebug'), '# changed\n')), ['trixie', 'sid', 'bookworm']);
    assert.deepEqual(rebuilt(() => appendFileSync(join(lab, 'recipe', 'build-host.sh'), '# changed\n')), ['trixie', 'sid', 'bookworm']);
  });

  it('a demo service, changed or new, rebuilds only the images', () => {
    assert.deepEqual(rebuilt(() => appendFileSync(join(lab, 'demo-api', 'server.js'), '// changed\n')), ['images']);
    assert.deepEqual(rebuilt(() => {
      mkdirSync(join(lab, 'demo-go'));
      writeFileSync(join(lab, 'demo-go', 'main.go'), 'package main\n');
    }), ['images']);
    assert.ok(partInputs('images', lab).includes('demo-go'));
  });
});
