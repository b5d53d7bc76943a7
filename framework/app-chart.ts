import { Chart } from 'cdk8s';
import type { Construct, IConstruct } from 'constructs';
import type { AppDefinition } from './cluster.js';
import { dns1123SubdomainError } from './rules/metadata.js';

/** What the pipeline tells an app's chart about the app and its cluster. */
export interface AppChartProps {
  /** The cluster (its inventory's name): `dist/<cluster>/`. */
  readonly cluster: string;
  readonly definition: AppDefinition<unknown, unknown>;
  /** What an app of the cluster provided (its build's return value), once it is built. */
  readonly provided: (app: string) => { readonly built: boolean; readonly value?: unknown };
  /** Whether app `app` syncs after app `other` (directly or through other apps). */
  readonly syncsAfter: (app: string, other: string) => boolean;
}

const APP_CHART: unique symbol = Symbol.for('homelab-cdk8s.app-chart');

/**
 * The chart an app builds into, and its scope: it knows the app and its cluster, so the
 * conventions that depend on them live here rather than in template strings of every app, and an
 * app reads what an app it depends on provides (`chart.use(certManagerApp)`).
 */
export class AppChart extends Chart {
  /** The nearest app chart above `scope` (itself included), if `scope` is part of an app. */
  static find(scope: IConstruct): AppChart | undefined {
    for (const construct of [...scope.node.scopes].reverse()) {
      if ((construct as unknown as Record<symbol, unknown>)[APP_CHART] === true) return construct as AppChart;
    }
    return undefined;
  }

  /**
   * Why `user` may not use `used` (an object of another cluster, or of an app `user`'s app does
   * not sync after), named `what` in the message; undefined when it may, or when either is not
   * part of an app (a construct tested on its own).
   */
  static referenceError(user: IConstruct, used: IConstruct, what: string): string | undefined {
    const userChart = AppChart.find(user);
    const usedChart = AppChart.find(used);
    if (!userChart || !usedChart || userChart === usedChart) return undefined;
    if (userChart.cluster !== usedChart.cluster || userChart.node.root !== usedChart.node.root) {
      return `${what} belongs to cluster ${usedChart.cluster}, not to ${userChart.cluster}`;
    }
    if (usedChart.app === userChart.app || userChart.props.syncsAfter(userChart.app, usedChart.app)) return undefined;
    return `${what} is made by app "${usedChart.app}": add that app to the dependsOn of "${userChart.app}", so that it syncs first`;
  }

  /** The cluster (its inventory's name). */
  readonly cluster: string;
  /** The app: its folder `dist/<cluster>/<app>/` and its Application. */
  readonly app: string;
  /** The namespace the app's namespaced objects get when they name none. */
  readonly appNamespace?: string;
  private readonly props: AppChartProps;

  constructor(scope: Construct, props: AppChartProps) {
    super(scope, props.definition.name, { disableResourceNameHashes: true });
    (this as unknown as Record<symbol, unknown>)[APP_CHART] = true;
    this.props = props;
    this.cluster = props.cluster;
    this.app = props.definition.name;
    this.appNamespace = props.definition.namespace;
  }

  /**
   * The SOPS file of the app's Secret `name`: `secrets/<cluster>/<app>/<name>.sops.yaml`. The
   * one place that convention is written; `SopsSecret` uses it when given no file.
   */
  sopsFile(name: string): string {
    const error = dns1123SubdomainError(name);
    if (error) {
      this.node.addValidation({ validate: () => [`sopsFile("${name}"): the name of a Secret ${error}`] });
    }
    return `secrets/${this.cluster}/${this.app}/${name}.sops.yaml`;
  }

  /**
   * What `dependency` provides (the value its build returned): ClusterIssuers, a forward-auth
   * Middleware ... The compiler checks the type; synth checks that `dependency` is among this
   * app's `dependsOn`, so it syncs first, and builds it first.
   */
  use<O>(dependency: AppDefinition<never, O>): O {
    const name = dependency.name;
    const declared = (this.props.definition.dependsOn ?? []).some(
      (entry: unknown) => entry === dependency || entry === name || (entry as { name?: unknown } | null)?.name === name,
    );
    if (!declared) {
      throw new Error(`app "${this.app}" uses what app "${name}" provides: add ${name} to its dependsOn, so that it syncs first`);
    }
    const provided = this.props.provided(name);
    if (!provided.built) {
      throw new Error(`app "${this.app}" uses what app "${name}" provides, but "${name}" was not built (see its own problem)`);
    }
    return provided.value as O;
  }
}
