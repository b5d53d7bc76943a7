import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchCreationRule, parseSopsConfig, SopsConfigError } from '../../pipeline/sops/config.js';
import { goRegExp } from '../../pipeline/sops/regex.js';
import { loadExampleKeys, REPO_ROOT } from './helpers.js';

const KEY_A = 'age1lavkcf94knxulv8rww9s4xqxsnel06cxvrp5pkf9mwnlh9vqkfmqz79s7a';
const KEY_B = 'age1rglrvs3n0k0ucwwf3aq7dav5t22w4zc77na46k40hyxpnslpwa5s2gj2ws';

function config(text: string) {
  return parseSopsConfig(text, 'test.sops.yaml');
}

const { operator, argocd } = await loadExampleKeys();

describe("the repository's .sops.yaml", () => {
  const repoConfig = parseSopsConfig(readFileSync(join(REPO_ROOT, '.sops.yaml'), 'utf8'), '.sops.yaml');

  const rule = matchCreationRule(repoConfig, 'secrets/k8s-235/cert-manager/cloudflare-api-token-secret.sops.yaml');
  const exampleKeysInUse = rule?.age.includes(operator.publicKey) === true || rule?.age.includes(argocd.publicKey) === true;

  it('has a rule for the k8s-235 secrets: data/stringData, the operator and ArgoCD age keys', () => {
    expect(rule).toBeDefined();
    expect(rule?.encryptedRegex).toBe('^(data|stringData)$');
    expect(rule?.age).toHaveLength(2);
    expect(rule?.pgp).toEqual([]);
    expect(rule?.otherKeySources).toEqual([]);
  });

  it.skipIf(!exampleKeysInUse)('uses the example operator and argocd keys until the operator replaces them', () => {
    expect(rule?.age).toEqual([operator.publicKey, argocd.publicKey]);
  });

  it('matches .yml and ./-prefixed or Windows-style paths, not other clusters or file types', () => {
    expect(matchCreationRule(repoConfig, 'secrets/k8s-235/app/x.yml')).toBeDefined();
    expect(matchCreationRule(repoConfig, './secrets/k8s-235/app/x.yaml')).toBeDefined();
    expect(matchCreationRule(repoConfig, 'secrets\\k8s-235\\app\\x.yaml')).toBeDefined();
    expect(matchCreationRule(repoConfig, 'secrets/k8s-999/app/x.yaml')).toBeUndefined();
    expect(matchCreationRule(repoConfig, 'secrets/k8s-235/app/notes.md')).toBeUndefined();
    expect(matchCreationRule(repoConfig, 'secrets/k8s-235/app/x.yaml.bak')).toBeUndefined();
  });
});

describe('parseSopsConfig / matchCreationRule', () => {
  it('takes the first matching rule, and a rule without path_regex matches everything', () => {
    const cfg = config(`
creation_rules:
  - path_regex: ^secrets/special/
    age: ${KEY_B}
  - path_regex: \\.ya?ml$
    encrypted_regex: ^(data|stringData)$
    age: ${KEY_A}
  - age: ${KEY_A},${KEY_B}
`);
    expect(matchCreationRule(cfg, 'secrets/special/a.yaml')?.index).toBe(1);
    expect(matchCreationRule(cfg, 'secrets/other/a.yaml')?.index).toBe(2);
    expect(matchCreationRule(cfg, 'secrets/other/a.json')?.index).toBe(3);
    expect(matchCreationRule(cfg, 'secrets/other/a.json')?.age).toEqual([KEY_A, KEY_B]);
  });

  it('matches path_regex anywhere in the path unless anchored, like Go MatchString', () => {
    const cfg = config(`creation_rules:\n  - path_regex: k8s-235/\n    age: ${KEY_A}\n`);
    expect(matchCreationRule(cfg, 'secrets/k8s-235/a.yaml')).toBeDefined();
    expect(matchCreationRule(cfg, 'secrets/k8s-236/a.yaml')).toBeUndefined();
  });

  it('returns undefined when nothing matches or there are no rules', () => {
    expect(matchCreationRule(config(`creation_rules:\n  - path_regex: ^x/\n    age: ${KEY_A}\n`), 'y/a.yaml')).toBeUndefined();
    expect(matchCreationRule(config(''), 'a.yaml')).toBeUndefined();
    expect(matchCreationRule(config('creation_rules:\n'), 'a.yaml')).toBeUndefined();
  });

  it('reads age and pgp as comma-separated strings or lists, trimmed and de-duplicated', () => {
    const cfg = config(`
creation_rules:
  - path_regex: a
    age: " ${KEY_A} , ${KEY_B},${KEY_A}, "
    pgp: 85D77543B3D624B63CEA9E6DBC17301B491B3F21, E60892BB9BD89A69F759A1A0A3D652173B763E8F
  - path_regex: b
    age:
      - ${KEY_B}
      - ${KEY_A}
    pgp: [85D77543B3D624B63CEA9E6DBC17301B491B3F21]
`);
    const a = matchCreationRule(cfg, 'a');
    expect(a?.age).toEqual([KEY_A, KEY_B]);
    expect(a?.pgp).toEqual(['85D77543B3D624B63CEA9E6DBC17301B491B3F21', 'E60892BB9BD89A69F759A1A0A3D652173B763E8F']);
    const b = matchCreationRule(cfg, 'b');
    expect(b?.age).toEqual([KEY_B, KEY_A]);
    expect(b?.pgp).toEqual(['85D77543B3D624B63CEA9E6DBC17301B491B3F21']);
  });

  it('reports other key sources and the remaining rule settings', () => {
    const cfg = config(`
creation_rules:
  - kms: arn:aws:kms:us-east-1:111122223333:key/abc
    hc_vault_transit_uri: https://vault.example:8200/v1/sops/keys/k
    unencrypted_suffix: _plain
    mac_only_encrypted: true
    key_groups:
      - age: [${KEY_A}]
`);
    const rule = matchCreationRule(cfg, 'anything');
    expect(rule?.otherKeySources).toEqual(['kms', 'hc_vault_transit_uri', 'key_groups']);
    expect(rule?.unencryptedSuffix).toBe('_plain');
    expect(rule?.macOnlyEncrypted).toBe(true);
    expect(rule?.age).toEqual([]);
  });

  it('accepts the other top-level sections sops knows', () => {
    expect(() => config(`creation_rules: []\ndestination_rules: []\nstores:\n  yaml:\n    indent: 2\n`)).not.toThrow();
  });
});

describe('malformed .sops.yaml', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['YAML syntax error', 'creation_rules:\n  - path_regex: [unclosed\n', /YAML syntax error at line \d+/],
    ['duplicate keys', `creation_rules:\n  - age: ${KEY_A}\n    age: ${KEY_B}\n`, /YAML syntax error/],
    ['not a mapping', '- a\n- b\n', /must be a YAML mapping/],
    ['unknown top-level field', 'creation_rule:\n  - age: x\n', /unknown top-level field "creation_rule"/],
    ['creation_rules not a list', 'creation_rules:\n  path_regex: x\n', /creation_rules must be a list/],
    ['rule not a mapping', 'creation_rules:\n  - just a string\n', /creation_rules\[0\] must be a mapping/],
    ['misspelt field', `creation_rules:\n  - encrypted_regexp: ^data$\n    age: ${KEY_A}\n`, /unknown field "encrypted_regexp"/],
    ['regex that does not compile', `creation_rules:\n  - path_regex: "secrets/(("\n    age: ${KEY_A}\n`, /path_regex.*does not compile/],
    ['bad encrypted_regex', `creation_rules:\n  - encrypted_regex: "^(data"\n    age: ${KEY_A}\n`, /encrypted_regex.*does not compile/],
    ['path_regex not a string', `creation_rules:\n  - path_regex: [a]\n    age: ${KEY_A}\n`, /path_regex must be a string/],
    [
      'two selection rules',
      `creation_rules:\n  - encrypted_regex: ^data$\n    unencrypted_suffix: _x\n    age: ${KEY_A}\n`,
      /allows only one/,
    ],
    ['age not a key', 'creation_rules:\n  - age: age1notakey\n', /creation_rules\[0\]\.age: "age1notakey" is not an age public key/],
    [
      'private key in age',
      `creation_rules:\n  - age: AGE-SECRET-KEY-1${'Q'.repeat(58)}\n`, // shaped like a private key, but none
      /PRIVATE key/,
    ],
    ['age as a number', 'creation_rules:\n  - age: 42\n', /age must be a string \(comma-separated\) or a list of strings/],
    ['age list with a non-string', 'creation_rules:\n  - age: [{a: b}]\n', /age\[0\] must be a string/],
    ['mac_only_encrypted not a boolean', `creation_rules:\n  - mac_only_encrypted: "yes"\n    age: ${KEY_A}\n`, /true or false/],
  ];
  for (const [name, text, message] of cases) {
    it(`rejects ${name}`, () => {
      expect(() => config(text)).toThrow(SopsConfigError);
      expect(() => config(text)).toThrow(message);
    });
  }

  it('names the file in every message', () => {
    expect(() => parseSopsConfig('creation_rules: 3\n', 'path/to/.sops.yaml')).toThrow(/^path\/to\/\.sops\.yaml: /);
  });
});

describe('goRegExp (RE2 patterns in JavaScript)', () => {
  it('translates leading flags, named groups and \\A / \\z', () => {
    expect(goRegExp('(?i)^SECRETS/').test('secrets/a')).toBe(true);
    expect(goRegExp('(?P<cluster>k8s-\\d+)').exec('secrets/k8s-235/a')?.groups?.cluster).toBe('k8s-235');
    expect(goRegExp('\\Asecrets/.*\\.yaml\\z').test('secrets/a.yaml')).toBe(true);
    expect(goRegExp('\\Asecrets/.*\\.yaml\\z').test('x/secrets/a.yaml')).toBe(false);
  });

  it('rejects RE2 features JavaScript lacks', () => {
    expect(() => goRegExp('(?U)a+')).toThrow(/ungreedy/);
    expect(() => goRegExp('a(?i)b')).toThrow(/inline flag/);
    expect(() => goRegExp('[[:alpha:]]')).toThrow(/POSIX/);
  });
});
