import { Component, OnDestroy, inject, input, signal, effect } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { RouterLink } from '@angular/router';
import { Api, ScanSummary, scanEvents } from '../api';

@Component({
  selector: 'st-scans',
  imports: [FormsModule, RouterLink],
  template: `
    <div class="mb-4 flex flex-wrap items-end justify-between gap-2">
      <h1 class="text-2xl font-bold">Scans</h1>
      <a routerLink="/scans/new" class="btn">New scan</a>
    </div>
    <form class="card mb-4 flex flex-wrap items-end gap-3" (ngSubmit)="load()" aria-label="Filter scans">
      <div class="flex flex-col"><label for="f-target" class="text-sm font-semibold">Image contains</label>
        <input id="f-target" name="target" class="input" [(ngModel)]="f.target"></div>
      <div class="flex flex-col"><label for="f-state" class="text-sm font-semibold">State</label>
        <select id="f-state" name="state" class="input" [(ngModel)]="f.state">
          <option value="">any</option><option>queued</option><option>running</option><option>done</option><option>failed</option>
        </select></div>
      <div class="flex flex-col"><label for="f-verdict" class="text-sm font-semibold">Verdict</label>
        <select id="f-verdict" name="verdict" class="input" [(ngModel)]="f.verdict">
          <option value="">any</option><option>fail</option><option>warn</option><option>pass</option>
        </select></div>
      <button type="submit" class="btn-secondary">Filter</button>
      <span class="ml-auto text-sm" aria-live="polite">{{ live() }}</span>
    </form>
    <div class="card overflow-x-auto">
      <table class="data">
        <caption class="sr-only">Scans, newest first</caption>
        <thead><tr><th scope="col">Image</th><th scope="col">State</th><th scope="col">Verdict</th><th scope="col">Started</th></tr></thead>
        <tbody>
          @for (s of scans(); track s.id) {
            <tr [attr.data-scan]="s.id">
              <td class="break-all"><a class="text-blue-800 underline" [routerLink]="['/scans', s.id]">{{ s.target }}</a></td>
              <td data-test="state">{{ s.state }}</td>
              <td>@if (s.verdict) { <span class="badge" [class]="'badge verdict-' + s.verdict">{{ s.verdict }}</span> }</td>
              <td>{{ s.createdAt.slice(0, 19).replace('T', ' ') }}</td>
            </tr>
          } @empty { <tr><td colspan="4">No scans.</td></tr> }
        </tbody>
      </table>
    </div>
  `,
})
export class Scans implements OnDestroy {
  private api = inject(Api);
  target = input<string>('');
  f = { target: '', state: '', verdict: '' };
  scans = signal<ScanSummary[]>([]);
  live = signal('');
  private stop = scanEvents((e) => {
    this.live.set(`${e.scanId.slice(0, 8)}: ${e.type.replace('scan.', '')}`);
    const cur = this.scans();
    if (cur.some((s) => s.id === e.scanId)) {
      this.scans.set(cur.map((s) => (s.id === e.scanId ? { ...s, state: e.state, verdict: e.verdict ?? s.verdict } : s)));
    } else if (e.type === 'scan.queued') {
      this.load();
    }
  });
  constructor() {
    effect(() => {
      this.f.target = this.target() ?? '';
      this.load();
    });
  }
  load(): void {
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.f)) if (v) q[k] = v;
    this.api.scans(q).subscribe((r) => this.scans.set(r.scans ?? []));
  }
  ngOnDestroy(): void { this.stop(); }
}
