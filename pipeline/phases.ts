/**
 * Where a command's time goes, phase by phase (`synth --timings`, `npm run bench`): each phase's
 * wall time adds up across its entries (load, render, validate ... per cluster).
 */
export class PhaseClock {
  private readonly totals = new Map<string, number>();
  private current: { name: string; since: number } | undefined;

  /** Ends the phase running (if any) and starts `name`. */
  enter(name: string): void {
    this.leave();
    this.current = { name, since: performance.now() };
  }

  /** Adds `ms` to phase `name` (a phase measured elsewhere, such as the process's start). */
  record(name: string, ms: number): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + ms);
  }

  /** Ends the phase running. */
  leave(): void {
    if (!this.current) return;
    const { name, since } = this.current;
    this.totals.set(name, (this.totals.get(name) ?? 0) + (performance.now() - since));
    this.current = undefined;
  }

  /** Milliseconds per phase, in the order phases first ran. */
  milliseconds(): ReadonlyMap<string, number> {
    this.leave();
    return this.totals;
  }

  /** One line: `start 0.21 s, load 0.05 s, ...`. */
  describe(): string {
    return [...this.milliseconds()].map(([name, ms]) => `${name} ${(ms / 1000).toFixed(3)} s`).join(', ');
  }
}
