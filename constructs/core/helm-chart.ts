import { Construct } from 'constructs';
import {
  type CustomResourceKinds,
  type HelmChartEntry,
  KUSTOMIZE_CONTRIBUTION,
  type KustomizeEntries,
} from '../../framework/contributions.js';
import { floatingVersionError } from './pinning.js';

export interface HelmChartProps {
  /** Chart repository URL (https). */
  readonly repo: string;
  /** Chart name in the repository. */
  readonly chart: string;
  /** Exact chart version; ranges and floating versions are rejected. */
  readonly version: string;
  /** Release name. @default the construct id */
  readonly releaseName?: string;
  readonly namespace: string;
  /** Values passed to the chart, typed by the construct that uses it. @default {} */
  readonly values?: Record<string, unknown>;
  /** Render the chart's CRDs too. @default true */
  readonly includeCRDs?: boolean;
  /**
   * The custom resource kinds whose CRDs the chart installs (with includeCRDs), so that synth
   * can order their users after this app. @default none
   */
  readonly crds?: readonly CustomResourceKinds[];
}

/**
 * An upstream Helm chart pinned at an exact version, inflated by kustomize when ArgoCD builds the
 * app (kustomize `helmCharts`; ArgoCD needs `--enable-helm` in its kustomize build options).
 */
export class HelmChart extends Construct {
  readonly entry: HelmChartEntry;
  readonly crds: readonly CustomResourceKinds[];

  constructor(scope: Construct, id: string, props: HelmChartProps) {
    super(scope, id);
    this.entry = {
      name: props.chart,
      repo: props.repo,
      version: props.version,
      releaseName: props.releaseName ?? id,
      namespace: props.namespace,
      includeCRDs: props.includeCRDs ?? true,
      valuesInline: props.values ?? {},
    };
    // CRDs an operator of the chart registers itself count whether or not the chart renders its own.
    this.crds = (props.crds ?? []).filter((entry) => this.entry.includeCRDs || entry.registeredAtRuntime !== undefined);
    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        const versionError = floatingVersionError(props.version);
        if (versionError) errors.push(`Helm chart ${props.chart}: ${versionError}`);
        if (!props.repo.startsWith('https://') && !props.repo.startsWith('oci://')) {
          errors.push(`Helm chart ${props.chart}: repository "${props.repo}" must be an https:// or oci:// URL`);
        }
        return errors;
      },
    });
  }

  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    return { helmCharts: [this.entry], crds: this.crds };
  }
}
