import { Construct } from 'constructs';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../pipeline/contributions.js';

export interface SopsSecretProps {
  /** The SOPS-encrypted Secret manifest, relative to the project root (e.g. `secrets/<cluster>/<app>/<name>.sops.yaml`). */
  readonly file: string;
  /** The Secret's name, as written in the file. */
  readonly name: string;
  /** The Secret's namespace, as written in the file. */
  readonly namespace: string;
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

  constructor(scope: Construct, id: string, props: SopsSecretProps) {
    super(scope, id);
    this.secretName = props.name;
    this.namespace = props.namespace;
    this.file = props.file;
    this.node.addValidation({
      validate: () =>
        props.file.startsWith('/') || props.file.split('/').includes('..')
          ? [`SopsSecret file "${props.file}" must be a path inside the project (relative, no "..")`]
          : [],
    });
  }

  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    return { encryptedFiles: [{ source: this.file, kind: 'Secret', name: this.secretName, namespace: this.namespace }] };
  }
}
