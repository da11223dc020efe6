import { Component, computed, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { Api, DashboardData, severities } from '../api';

const colors: Record<string, string> = { CRITICAL: '#991b1b', HIGH: '#c2410c', MEDIUM: '#d97706', LOW: '#0284c7', UNKNOWN: '#64748b' };

@Component({
  selector: 'st-dashboard',
  imports: [RouterLink],
  template: `
    <h1 class="mb-4 text-2xl font-bold">Dashboard</h1>
    @if (d(); as d) {
      <div class="grid gap-4 md:grid-cols-3">
        <section class="card" aria-labelledby="t-scans">
          <h2 id="t-scans" class="mb-2 font-semibold">Scans over the last 14 days</h2>
          <svg [attr.viewBox]="'0 0 ' + (d.scansByDay.length * 20) + ' 100'" class="h-32 w-full" role="img" [attr.aria-label]="scansLabel()">
            @for (day of d.scansByDay; track day.day; let i = $index) {
              <rect [attr.x]="i * 20 + 3" [attr.y]="100 - h(day.fail + day.warn + day.pass + day.other)" width="14" [attr.height]="h(day.fail)" fill="#991b1b"><title>{{ day.day }}: {{ day.fail }} fail</title></rect>
              <rect [attr.x]="i * 20 + 3" [attr.y]="100 - h(day.warn + day.pass + day.other)" width="14" [attr.height]="h(day.warn)" fill="#d97706"><title>{{ day.day }}: {{ day.warn }} warn</title></rect>
              <rect [attr.x]="i * 20 + 3" [attr.y]="100 - h(day.pass + day.other)" width="14" [attr.height]="h(day.pass)" fill="#166534"><title>{{ day.day }}: {{ day.pass }} pass</title></rect>
              <rect [attr.x]="i * 20 + 3" [attr.y]="100 - h(day.other)" width="14" [attr.height]="h(day.other)" fill="#94a3b8"><title>{{ day.day }}: {{ day.other }} other</title></rect>
            }
          </svg>
          <p class="text-sm">{{ d.totalScans }} scans · <span class="text-red-800">fail</span> / <span class="text-amber-700">warn</span> / <span class="text-green-800">pass</span></p>
        </section>
        <section class="card" aria-labelledby="t-sev">
          <h2 id="t-sev" class="mb-2 font-semibold">Findings by severity</h2>
          <ul class="space-y-1">
            @for (s of sevs; track s) {
              <li class="flex items-center gap-2 text-sm">
                <span class="w-20">{{ s }}</span>
                <svg class="h-4 flex-1" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect x="0" y="0" height="10" [attr.width]="pct(d.bySeverity[s] || 0)" [attr.fill]="color(s)" /></svg>
                <span class="w-12 text-right tabular-nums">{{ d.bySeverity[s] || 0 }}</span>
              </li>
            }
          </ul>
        </section>
        <section class="card" aria-labelledby="t-feeds">
          <h2 id="t-feeds" class="mb-2 font-semibold">Feed freshness</h2>
          <ul class="text-sm">
            @for (f of d.feeds; track f.name) {
              <li class="flex justify-between"><span>{{ f.name }}</span><span [class.text-red-800]="f.ageHours > 48">{{ age(f.ageHours) }} · {{ f.records }} records</span></li>
            } @empty { <li>No feed information.</li> }
          </ul>
        </section>
      </div>
      <div class="mt-4 grid gap-4 md:grid-cols-2">
        <section class="card" aria-labelledby="t-top">
          <h2 id="t-top" class="mb-2 font-semibold">Most vulnerable images</h2>
          <table class="data"><thead><tr><th scope="col">Image</th><th scope="col">Critical</th><th scope="col">High</th><th scope="col">All</th></tr></thead>
            <tbody>
              @for (i of d.topImages; track i.target) {
                <tr><td class="break-all"><a class="text-blue-800 underline" [routerLink]="['/scans']" [queryParams]="{ target: i.target }">{{ i.target }}</a></td>
                  <td>{{ i.bySeverity['CRITICAL'] || 0 }}</td><td>{{ i.bySeverity['HIGH'] || 0 }}</td><td>{{ i.findings }}</td></tr>
              } @empty { <tr><td colspan="4">No findings yet.</td></tr> }
            </tbody>
          </table>
        </section>
        <section class="card" aria-labelledby="t-kev">
          <h2 id="t-kev" class="mb-2 font-semibold">Known exploited (CISA KEV)</h2>
          <table class="data"><thead><tr><th scope="col">Vulnerability</th><th scope="col">Package</th><th scope="col">Image</th></tr></thead>
            <tbody>
              @for (k of d.kev; track k.scanId + k.id + k.package) {
                <tr><td><a class="text-blue-800 underline" [routerLink]="['/scans', k.scanId]">{{ k.id }}</a></td><td>{{ k.package }} {{ k.version }}</td><td class="break-all">{{ k.target }}</td></tr>
              } @empty { <tr><td colspan="3">None.</td></tr> }
            </tbody>
          </table>
        </section>
      </div>
    } @else if (error()) {
      <p role="alert" class="text-red-800">{{ error() }}</p>
    } @else { <p>Loading…</p> }
  `,
})
export class Dashboard {
  private api = inject(Api);
  d = signal<DashboardData | null>(null);
  error = signal('');
  sevs = severities;
  private max = computed(() => Math.max(1, ...(this.d()?.scansByDay ?? []).map((x) => x.fail + x.warn + x.pass + x.other)));
  private maxSev = computed(() => Math.max(1, ...Object.values(this.d()?.bySeverity ?? {})));
  constructor() {
    this.api.dashboard().subscribe({ next: (d) => this.d.set(d), error: () => this.error.set('The dashboard could not be loaded.') });
  }
  h(n: number): number { return (n / this.max()) * 95; }
  pct(n: number): number { return (n / this.maxSev()) * 100; }
  color(s: string): string { return colors[s]; }
  age(h: number): string { return h < 1 ? 'under an hour' : h < 48 ? `${Math.round(h)} h` : `${Math.round(h / 24)} days`; }
  scansLabel(): string {
    const d = this.d();
    return d ? `Scans per day, ${d.scansByDay.map((x) => `${x.day}: ${x.fail} fail, ${x.warn} warn, ${x.pass} pass`).join('; ')}` : '';
  }
}
