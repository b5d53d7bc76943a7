import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { isAgeRecipient } from '../../framework/rules/network.js';

describe('age recipients', () => {
  it('accepts keys age itself generates', async () => {
    for (let i = 0; i < 20; i += 1) {
      expect(isAgeRecipient(await identityToRecipient(await generateIdentity()))).toBe(true);
    }
  });

  it('refuses a key with one character mistyped: its bech32 checksum fails', async () => {
    const recipient = await identityToRecipient(await generateIdentity());
    for (const at of [4, 20, recipient.length - 1]) {
      const char = recipient[at] === 'q' ? 'p' : 'q';
      expect(isAgeRecipient(`${recipient.slice(0, at)}${char}${recipient.slice(at + 1)}`)).toBe(false);
    }
    expect(isAgeRecipient(recipient.toUpperCase())).toBe(false);
    expect(isAgeRecipient(recipient.slice(0, -1))).toBe(false);
  });
});
