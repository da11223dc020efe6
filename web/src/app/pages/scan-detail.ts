import { Component, OnDestroy, computed, inject, input, signal, effect } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { HttpClient } from '@angular/common/http';
import { Api, Finding, ScanDetail, scanEvents, severities } from '../api';

const rank: Record<string, number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, UNKNOWN: 4 };
type Tab = 'findings' | 'components' | 'layers' | 'downloads';

@Component({
  selector: 'st-scan-detail',
  imports: [FormsModule],
  template: `
    @if (scan(); as s) {
      <div class="mb-4 flex flex-wrap items-center gap-3">
        <h1 class="break-all text-2xl font-bold">{{ s.target }}</h1>
        <span class="badge bg-slate-200" data-test="scan-state">{{ s.state }}</span>
        @if (s.verdict) { <span [class]="'badge verdict-' + s.verdict" data-test="verdict">{{ s.verdict }}</span> }
      </div>
      @if (s.error) { <p role="alert" class="mb-4 text-red-800">{{ s.error }}</p> }
      @if (s.result; as r) {
        <section class="card mb-4" aria-labelledby="t-verdict">
          <h2 id="t-verdict" class="font-semibold">Decision: {{ r.policy.decision }}</h2>
          <ul class="mt-1 list-disc pl-6 text-sm">
            @for (reason of r.policy.reasons ?? []; track $index) { <li>{{ reason }}</li> } @empty { <li>No rule fired.</li> }
          </ul>
          @if (s.digest) { <p class="mt-2 break-all font-mono text-xs">{{ s.digest }}</p> }
        </section>
        <div role="tablist" aria-label="Scan details" class="mb-2 flex gap-1 border-b border-slate-300">
          @for (t of tabs; track t) {
            <button type="button" role="tab" [id]="'tab-' + t" [attr.aria-selected]="tab() === t" [attr.aria-controls]="'panel-' + t"
              class="rounded-t px-3 py-1.5 text-sm font-semibold" [class.bg-slate-900]="tab() === t" [class.text-white]="tab() === t"
              (click)="tab.set(t)">{{ t[0].toUpperCase() + t.slice(1) }}@if (t === 'findings') { ({{ r.findings.length }}) }@if (t === 'components') { ({{ r.sbom?.packages?.length ?? 0 }}) }</button>
          }
        </div>
        @switch (tab()) {
          @case ('findings') {
            <section role="tabpanel" id="panel-findings" aria-labelledby="tab-findings" class="card">
              <div class="mb-3 flex flex-wrap items-end gap-3">
                <div class="flex flex-col"><label for="q" class="text-sm font-semibold">Search</label>
                  <input id="q" class="input" [ngModel]="q()" (ngModelChange)="q.set($event)" placeholder="CVE, package…"></div>
                <div class="flex flex-col"><label for="sev" class="text-sm font-semibold">Severity</label>
                  <select id="sev" class="input" [ngModel]="sev()" (ngModelChange)="sev.set($event)">
                    <option value="">all</option>@for (x of sevs; track x) { <option [value]="x">{{ x }}</option> }
                  </select></div>
                <label class="flex items-center gap-1 text-sm"><input type="checkbox" [ngModel]="fixable()" (ngModelChange)="fixable.set($event)"> fix available</label>
                <label class="flex items-center gap-1 text-sm"><input type="checkbox" [ngModel]="kevOnly()" (ngModelChange)="kevOnly.set($event)"> KEV only</label>
                <span class="ml-auto text-sm" aria-live="polite" data-test="finding-count">{{ findings().length }} shown</span>
              </div>
              <div class="overflow-x-auto">
              <table class="data">
                <thead><tr>
                  <th scope="col" [attr.aria-sort]="ariaSort('severity')"><button type="button" (click)="sortBy('severity')">Severity</button></th>
                  <th scope="col" [attr.aria-sort]="ariaSort('id')"><button type="button" (click)="sortBy('id')">Vulnerability</button></th>
                  <th scope="col" [attr.aria-sort]="ariaSort('package')"><button type="button" (click)="sortBy('package')">Package</button></th>
                  <th scope="col">Installed</th><th scope="col">Fixed in</th><th scope="col">Signals</th><th scope="col">VEX</th>
                </tr></thead>
                <tbody>
                  @for (f of findings(); track f.id + f.package.id) {
                    <tr data-test="finding">
                      <td><span [class]="'badge sev-' + f.severity.label">{{ f.severity.label }}</span>@if (f.severity.score) { <span class="ml-1 text-xs">{{ f.severity.score }}</span> }</td>
                      <td><span class="font-mono">{{ f.id }}</span>@if (f.summary) { <div class="text-xs text-slate-700">{{ f.summary }}</div> }</td>
                      <td>{{ f.package.name }} <span class="text-xs text-slate-700">{{ f.package.ecosystem }}</span></td>
                      <td class="font-mono text-xs">{{ f.installedVersion }}</td>
                      <td class="font-mono text-xs">{{ (f.fixedVersions ?? []).join(', ') || '—' }}</td>
                      <td>@if (f.kev) { <span class="badge bg-red-900 text-white" title="Known exploited (CISA KEV)">KEV</span> }
                          @if (f.epss) { <span class="badge ml-1 bg-violet-800 text-white" title="EPSS probability of exploitation">EPSS {{ (f.epss.score * 100).toFixed(1) }}%</span> }</td>
                      <td class="text-xs">{{ f.vex?.status ?? '' }}</td>
                    </tr>
                  } @empty { <tr><td colspan="7">No finding matches.</td></tr> }
                </tbody>
              </table>
              </div>
            </section>
          }
          @case ('components') {
            <section role="tabpanel" id="panel-components" aria-labelledby="tab-components" class="card">
              <label for="pq" class="text-sm font-semibold">Filter components</label>
              <input id="pq" class="input mb-2 ml-2" [ngModel]="pq()" (ngModelChange)="pq.set($event)">
              <div class="overflow-x-auto">
              <table class="data"><thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Ecosystem</th><th scope="col">Layer</th><th scope="col">PURL</th></tr></thead>
                <tbody>
                  @for (p of packages(); track p.id) {
                    <tr><td>{{ p.name }}</td><td class="font-mono text-xs">{{ p.version }}</td><td>{{ p.ecosystem }}</td><td>{{ p.layerIndex ?? '' }}</td><td class="break-all font-mono text-xs">{{ p.purl }}</td></tr>
                  }
                </tbody></table>
              </div>
            </section>
          }
          @case ('layers') {
            <section role="tabpanel" id="panel-layers" aria-labelledby="tab-layers" class="card">
              <ol class="space-y-3">
                @for (l of layers(); track l.index) {
                  <li class="rounded border border-slate-200 p-2">
                    <h3 class="font-semibold">Layer {{ l.index }} · {{ l.count }} packages</h3>
                    <p class="break-all font-mono text-xs text-slate-700">{{ l.createdBy || l.diffID }}</p>
                    <p class="mt-1 text-sm">{{ l.names }}</p>
                  </li>
                }
              </ol>
            </section>
          }
          @case ('downloads') {
            <section role="tabpanel" id="panel-downloads" aria-labelledby="tab-downloads" class="card flex flex-wrap gap-2">
              <button type="button" class="btn-secondary" (click)="download('sbom', 'cyclonedx-json')">SBOM · CycloneDX</button>
              <button type="button" class="btn-secondary" (click)="download('sbom', 'spdx-json')">SBOM · SPDX</button>
              <button type="button" class="btn-secondary" (click)="download('report', 'sarif')">Report · SARIF</button>
              <button type="button" class="btn-secondary" (click)="download('report', 'html')">Report · HTML</button>
            </section>
          }
        }
      }
    } @else { <p>Loading…</p> }
  `,
})
export class ScanDetailPage implements OnDestroy {
  private api = inject(Api);
  private http = inject(HttpClient);
  id = input.required<string>();
  scan = signal<ScanDetail | null>(null);
  tabs: Tab[] = ['findings', 'components', 'layers', 'downloads'];
  tab = signal<Tab>('findings');
  sevs = severities;
  q = signal('');
  pq = signal('');
  sev = signal('');
  fixable = signal(false);
  kevOnly = signal(false);
  sort = signal<{ key: string; dir: 1 | -1 }>({ key: 'severity', dir: 1 });
  private stop = scanEvents((e) => { if (e.scanId === this.id()) this.load(); });
  constructor() { effect(() => { this.id(); this.load(); }); }
  load(): void { this.api.scan(this.id()).subscribe((s) => this.scan.set(s)); }
  ngOnDestroy(): void { this.stop(); }

  findings = computed<Finding[]>(() => {
    const all = this.scan()?.result?.findings ?? [];
    const q = this.q().toLowerCase();
    const { key, dir } = this.sort();
    return all
      .filter((f) => !this.sev() || f.severity.label === this.sev())
      .filter((f) => !this.fixable() || (f.fixedVersions?.length ?? 0) > 0)
      .filter((f) => !this.kevOnly() || !!f.kev)
      .filter((f) => !q || f.id.toLowerCase().includes(q) || f.package.name.toLowerCase().includes(q) || (f.aliases ?? []).some((a) => a.toLowerCase().includes(q)))
      .sort((a, b) => {
        const c = key === 'severity' ? (rank[a.severity.label] ?? 9) - (rank[b.severity.label] ?? 9)
          : key === 'id' ? a.id.localeCompare(b.id) : a.package.name.localeCompare(b.package.name);
        return c * dir;
      });
  });
  packages = computed(() => {
    const q = this.pq().toLowerCase();
    return (this.scan()?.result?.sbom?.packages ?? []).filter((p) => !q || p.name.toLowerCase().includes(q) || (p.purl ?? '').includes(q));
  });
  layers = computed(() => {
    const r = this.scan()?.result;
    const pk = r?.sbom?.packages ?? [];
    return (r?.image?.layers ?? []).map((l) => {
      const here = pk.filter((p) => p.layerIndex === l.index || p.layer === l.diffID);
      const names = here.slice(0, 30).map((p) => p.name).join(', ') + (here.length > 30 ? `, and ${here.length - 30} more` : '');
      return { ...l, count: here.length, names };
    });
  });
  sortBy(key: string): void {
    const s = this.sort();
    this.sort.set({ key, dir: s.key === key ? (s.dir === 1 ? -1 : 1) : 1 });
  }
  ariaSort(key: string): string | null {
    const s = this.sort();
    return s.key === key ? (s.dir === 1 ? 'ascending' : 'descending') : null;
  }
  download(kind: 'sbom' | 'report', format: string): void {
    const id = this.id();
    this.http.get(`/api/scans/${encodeURIComponent(id)}/${kind}`, { params: { format }, responseType: 'blob' }).subscribe((b) => {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(b);
      const ext = { 'cyclonedx-json': 'cdx.json', 'spdx-json': 'spdx.json', sarif: 'sarif', html: 'html' }[format] ?? format;
      a.download = `stella-${id}.${kind === 'sbom' ? 'sbom.' : ''}${ext}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    });
  }
}
