import { Construct } from 'constructs';
import { AppChart } from '../../framework/app-chart.js';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';

export interface SopsSecretProps {
  /**
   * The SOPS-encrypted Secret manifest, relative to the project root. A file of the app's
   * cluster lies in the app's folder `secrets/<cluster>/<app>/`.
   * @default the app's file for the Secret: `secrets/<cluster>/<app>/<name>.sops.yaml` (`AppChart.sopsFile`)
   */
  readonly file?: string;
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
    const app = AppChart.find(this);
    this.file = props.file ?? app?.sopsFile(props.name) ?? '';
    this.behavior = props.behavior ?? 'create';
    this.required = [...(props.keys ?? [])];
    this.example = props.example;
    const file = this.file;
    this.node.addValidation({
      validate: () => {
        if (file === '') return ["SopsSecret outside an app needs its file: pass file (inside an app it defaults to the app's own)"];
        // A path outside the project is checked where the file is read (synth's sops.file rule), once.
        const [top, cluster, folder] = file.split('/');
        if (app && top === 'secrets' && cluster === app.cluster && folder !== app.app) {
          return [
            `SopsSecret file "${file}" is not in the folder of app ${app.app}: its files are secrets/${app.cluster}/${app.app}/<name>.sops.yaml (leave file out for the Secret's own)`,
          ];
        }
        return [];
      },
    });
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
