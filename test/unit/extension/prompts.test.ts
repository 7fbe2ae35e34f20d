// Passwords and passphrases in VS Code: asked in password boxes, remembered only when the setting
// says so, and forgotten once the server or the key refused them (so a wrong one is not offered
// again and again from SecretStorage).
import { strict as assert } from 'node:assert';
import type * as vscode from 'vscode';
import { fake, makeContext } from './harness';

const { createPrompts } = await import('../../../src/extension/prompts');

describe('SSH prompts', () => {
  let context: vscode.ExtensionContext;
  beforeEach(() => {
    fake.reset();
    context = makeContext();
  });

  it('asks in a password box and remembers the answer only when rememberPasswords is on', async () => {
    const forgetful = createPrompts(context.secrets, () => false);
    fake.answerInputBox('hunter2');
    assert.equal(await forgetful.password('alice', 'prod'), 'hunter2');
    assert.equal(await context.secrets.get('password:alice@prod'), undefined);

    const remembering = createPrompts(context.secrets, () => true);
    fake.answerInputBox('hunter2');
    assert.equal(await remembering.password('alice', 'prod'), 'hunter2');
    assert.equal(await context.secrets.get('password:alice@prod'), 'hunter2');
    // Asked again: answered from SecretStorage, no box (an unplanned box would throw).
    assert.equal(await remembering.password('alice', 'prod'), 'hunter2');
  });

  it('forgets a remembered password the server refused, and asks again next time', async () => {
    const prompts = createPrompts(context.secrets, () => true);
    fake.answerInputBox('wrong');
    await prompts.password('alice', 'prod');
    await prompts.refused!({ kind: 'password', user: 'alice', host: 'prod' });
    assert.equal(await context.secrets.get('password:alice@prod'), undefined);
    fake.answerInputBox('right');
    assert.equal(await prompts.password('alice', 'prod'), 'right');
  });

  it('forgets a refused passphrase even when remembering was turned off since', async () => {
    let remember = true;
    const prompts = createPrompts(context.secrets, () => remember);
    fake.answerInputBox('wrong phrase');
    await prompts.passphrase('/home/a/.ssh/id_ed25519');
    remember = false;
    await prompts.refused!({ kind: 'passphrase', keyFile: '/home/a/.ssh/id_ed25519' });
    assert.equal(await context.secrets.get('passphrase:/home/a/.ssh/id_ed25519'), undefined);
  });

  it('says where an accepted host key is recorded, or that it is not recorded at all', async () => {
    const prompts = createPrompts(context.secrets, () => false);
    fake.answerMessage = () => 'Trust and Continue';
    const question = { alias: 'prod', host: '10.0.0.1', port: 22, keyType: 'ssh-ed25519', fingerprint: 'SHA256:abc' };
    assert.equal(await prompts.confirmHostKey({ ...question, knownHostsFile: '/home/a/.ssh/known_hosts' }), true);
    assert.equal(await prompts.confirmHostKey({ ...question, knownHostsFile: undefined }), true);
    const details = fake.messages.map((m) => (m.options as { detail?: string } | undefined)?.detail ?? '');
    assert.match(details[0]!, /recorded in \/home\/a\/\.ssh\/known_hosts/);
    assert.match(details[1]!, /trusted for this connection only \(UserKnownHostsFile none\)/);
  });
});
