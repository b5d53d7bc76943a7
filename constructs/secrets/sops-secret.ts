import { Construct } from 'constructs';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';

export interface SopsSecretProps {
  /** The SOPS-encrypted Secret manifest, relative to the project root (e.g. `secrets/<cluster>/<app>/<name>.sops.yaml`). */
  readonly file: string;
  /** The Secret's name, as written in the file. */
  readonly name: string;
  /**
   * The Secret's namespace, as written in the file. One exception: a `merge` or `replace` file
   * in an app whose kustomization sets the namespace (an upstream manifest without namespaces)
   * names none, since kustomize merges before it applies the namespace; synth checks either way.
   */
  readonly namespace: string;
  /**
   * `merge` adds the Secret's keys to a Secret of the same name that an upstream manifest of the
   * app defines (KSOPS honours `kustomize.config.k8s.io/behavior` in the file, which synth
   * checks); `replace` swaps it. @default 'create'
   */
  readonly behavior?: 'create' | 'merge' | 'replace';
  /** Keys the Secret must hold; synth checks them (SOPS encrypts values, not keys). @default none */
  readonly keys?: readonly string[];
  /**
   * The plaintext Secret of an example file, with placeholder values, for `npm run new`.
   * @default the Secret with an obviously fake value for each key
   */
  readonly example?: () => Record<string, unknown>;
}

/**
 * A Secret that reaches git only SOPS-encrypted. Synth checks the file (it exists, holds this
 * Secret, is encrypted for every recipient of its `.sops.yaml` rule), copies it into the app's
 * dist folder and lists it in the app's KSOPS generator; ArgoCD decrypts it at sync time.
 */
export class SopsSecret extends Construct {
  readonly secretName: string;
  readonly namespace: string;
  readonly file: string;
  readonly behavior: 'create' | 'merge' | 'replace';
  private readonly required: string[];
  private readonly example: (() => Record<string, unknown>) | undefined;

  constructor(scope: Construct, id: string, props: SopsSecretProps) {
    super(scope, id);
    this.secretName = props.name;
    this.namespace = props.namespace;
    this.file = props.file;
    this.behavior = props.behavior ?? 'create';
    this.required = [...(props.keys ?? [])];
    this.example = props.example;
    // The path is checked where the file is read (synth's sops.file rule), once, with the object named.
  }

  /** Every key the file must hold: those given, and those the constructs reading the Secret require. */
  get keys(): readonly string[] {
    return [...new Set(this.required)];
  }

  /**
   * Declares keys a consumer reads (an env var's secretKeyRef, a mounted file): synth then fails
   * when the file lacks one, instead of the pod failing to start at sync time.
   */
  requireKeys(keys: readonly string[]): void {
    this.required.push(...keys);
  }

  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    return {
      encryptedFiles: [
        {
          source: this.file,
          kind: 'Secret',
          name: this.secretName,
          namespace: this.namespace,
          behavior: this.behavior,
          keys: this.keys,
          ...(this.example ? { example: this.example } : {}),
        },
      ],
    };
  }
}
