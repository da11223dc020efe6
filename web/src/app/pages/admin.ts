import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Api, Feed, Me, PluginInfo, Token } from '../api';

@Component({
  selector: 'st-admin',
  imports: [FormsModule],
  template: `
    <h1 class="mb-4 text-2xl font-bold">Admin</h1>
    @if (me(); as m) { <p class="mb-4 text-sm">Signed in as <strong>{{ m.subject }}</strong> ({{ m.role }}) in tenant <strong>{{ m.tenant }}</strong> · Stella {{ m.version }}</p> }
    <div class="grid gap-4 lg:grid-cols-2">
      <section class="card" aria-labelledby="t-tokens">
        <h2 id="t-tokens" class="mb-2 font-semibold">API tokens</h2>
        <form class="mb-3 flex flex-wrap items-end gap-2" (ngSubmit)="createToken()">
          <div class="flex flex-col"><label for="tok-name" class="text-sm font-semibold">Name</label><input id="tok-name" name="name" class="input" [(ngModel)]="tokName" required></div>
          <div class="flex flex-col"><label for="tok-role" class="text-sm font-semibold">Role</label>
            <select id="tok-role" name="role" class="input" [(ngModel)]="tokRole"><option>viewer</option><option>scanner</option><option>admin</option></select></div>
          <button type="submit" class="btn" [disabled]="!tokName.trim()">Create token</button>
        </form>
        @if (secret()) { <p role="status" class="mb-2 break-all rounded bg-amber-100 p-2 text-sm">New token (shown once): <code data-test="secret">{{ secret() }}</code></p> }
        <table class="data"><thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Owner</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            @for (t of tokens(); track t.id) {
              <tr [attr.data-token]="t.name"><td>{{ t.name }}</td><td>{{ t.role }}</td><td>{{ t.subject }}</td><td>{{ t.revokedAt ? 'revoked' : 'active' }}</td>
                <td>@if (!t.revokedAt) { <button type="button" class="btn-secondary" (click)="revoke(t)" [attr.aria-label]="'Revoke token ' + t.name">Revoke</button> }</td></tr>
            } @empty { <tr><td colspan="5">No tokens.</td></tr> }
          </tbody></table>
      </section>
      <section class="card" aria-labelledby="t-tenant">
        <h2 id="t-tenant" class="mb-2 font-semibold">Tenant, users and quotas</h2>
        @if (quota(); as q) {
          <p class="text-sm">Tenant <strong>{{ q.tenant }}</strong>: {{ q.scansToday }} scans today of {{ q.scansPerDay || 'unlimited' }}; {{ q.requestsPerMinute || 'unlimited' }} requests per minute.</p>
        }
        <h3 class="mt-3 text-sm font-semibold">Users and roles</h3>
        @if (usersError()) { <p class="text-sm">{{ usersError() }}</p> }
        <ul class="text-sm">@for (u of users(); track u.subject) { <li>{{ u.subject }}: {{ u.roles.join(', ') }} ({{ u.tokens }} tokens)</li> }</ul>
        <h3 class="mt-3 text-sm font-semibold">Tenants</h3>
        <ul class="text-sm">@for (t of tenants(); track t.name) { <li>{{ t.name }} ({{ t.tokens }} tokens)</li> }</ul>
      </section>
      <section class="card" aria-labelledby="t-plugins">
        <h2 id="t-plugins" class="mb-2 font-semibold">Plug-ins</h2>
        <table class="data"><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Version</th><th scope="col">SHA-256</th><th scope="col">State</th></tr></thead>
          <tbody>
            @for (p of plugins(); track p.file) { <tr><td>{{ p.name }}</td><td>{{ p.kind }}</td><td>{{ p.version }}</td><td class="break-all font-mono text-xs">{{ p.sha256 }}</td><td>{{ p.state }}</td></tr> }
            @empty { <tr><td colspan="5">No plug-ins.</td></tr> }
          </tbody></table>
      </section>
      <section class="card" aria-labelledby="t-feeds">
        <h2 id="t-feeds" class="mb-2 font-semibold">Feeds</h2>
        <table class="data"><thead><tr><th scope="col">Source</th><th scope="col">Last sync</th><th scope="col">Records</th></tr></thead>
          <tbody>@for (f of feeds(); track f.name) { <tr><td>{{ f.name }}</td><td>{{ f.lastSync.slice(0, 16).replace('T', ' ') }}</td><td>{{ f.records }}</td></tr> }</tbody></table>
        <button type="button" class="btn mt-2" (click)="sync()" [disabled]="!syncAvailable()">Sync now</button>
        @if (!syncAvailable()) { <p class="mt-1 text-sm">This server has no feed mirror; sync with <code>stella db sync</code>.</p> }
        @if (syncMsg()) { <p role="status" class="mt-1 text-sm">{{ syncMsg() }}</p> }
      </section>
      <section class="card lg:col-span-2" aria-labelledby="t-policies">
        <h2 id="t-policies" class="mb-2 font-semibold">Policies</h2>
        <p class="text-sm">Built in: {{ builtin() }}</p>
        @for (p of policies(); track p.path) {
          <details class="mt-2"><summary class="cursor-pointer font-mono text-sm">{{ p.path }}</summary><pre class="overflow-x-auto bg-slate-100 p-2 text-xs">{{ p.source }}</pre></details>
        }
        <form class="mt-3 flex flex-col gap-2" (ngSubmit)="testPolicy()">
          <label for="pol-scan" class="text-sm font-semibold">Scan id to test against</label>
          <input id="pol-scan" name="scan" class="input font-mono" [(ngModel)]="polScan">
          <label for="pol-src" class="text-sm font-semibold">Candidate Rego module (or upload a .rego file)</label>
          <textarea id="pol-src" name="src" rows="6" class="input font-mono" [(ngModel)]="polSrc"></textarea>
          <input type="file" accept=".rego" aria-label="Upload a .rego file" (change)="upload($event)">
          <button type="submit" class="btn self-start" [disabled]="!polScan.trim()">Test</button>
        </form>
        @if (polResult()) { <pre role="status" class="mt-2 overflow-x-auto bg-slate-100 p-2 text-xs" data-test="policy-result">{{ polResult() }}</pre> }
      </section>
    </div>
  `,
})
export class Admin {
  private api = inject(Api);
  me = signal<Me | null>(null);
  tokens = signal<Token[]>([]);
  secret = signal('');
  tokName = '';
  tokRole = 'viewer';
  users = signal<{ subject: string; roles: string[]; tokens: number }[]>([]);
  usersError = signal('');
  tenants = signal<{ name: string; tokens: number }[]>([]);
  quota = signal<{ tenant: string; requestsPerMinute: number; scansPerDay: number; scansToday: number } | null>(null);
  plugins = signal<PluginInfo[]>([]);
  feeds = signal<Feed[]>([]);
  syncAvailable = signal(false);
  syncMsg = signal('');
  policies = signal<{ path: string; source: string }[]>([]);
  builtin = signal('');
  polScan = '';
  polSrc = 'package org.example\n\nimport rego.v1\n\ndeny contains "no images from docker.io" if startswith(input.image.name, "docker.io/")\n';
  polResult = signal('');

  constructor() {
    this.api.me().subscribe((m) => this.me.set(m));
    this.loadTokens();
    this.api.users().subscribe({ next: (r) => this.users.set(r.users), error: () => this.usersError.set('Only admins see users.') });
    this.api.tenants().subscribe({ next: (r) => this.tenants.set(r.tenants), error: () => {} });
    this.api.quotas().subscribe((q) => this.quota.set(q));
    this.api.plugins().subscribe((r) => this.plugins.set(r.plugins));
    this.api.feeds().subscribe((r) => { this.feeds.set(r.feeds); this.syncAvailable.set(r.syncAvailable); });
    this.api.policies().subscribe((r) => { this.policies.set(r.policies); this.builtin.set(r.builtin); });
  }
  loadTokens(): void { this.api.tokens().subscribe((r) => this.tokens.set(r.tokens ?? [])); }
  createToken(): void {
    this.api.createToken(this.tokName.trim(), this.tokRole).subscribe((r) => { this.secret.set(r.secret); this.tokName = ''; this.loadTokens(); });
  }
  revoke(t: Token): void { this.api.revokeToken(t.id).subscribe(() => this.loadTokens()); }
  sync(): void { this.api.syncFeeds().subscribe({ next: () => this.syncMsg.set('Synced.'), error: (e) => this.syncMsg.set(e?.error?.error ?? 'Sync failed.') }); }
  upload(ev: Event): void {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) f.text().then((t) => { this.polSrc = t; this.polResult.set(`Loaded ${f.name}; press Test.`); });
  }
  testPolicy(): void {
    this.api.testPolicy(this.polScan.trim(), this.polSrc).subscribe({
      next: (d) => this.polResult.set(`verdict: ${d.verdict}\n` + [...(d.deny ?? []), ...(d.warn ?? [])].map((r: any) => `${r.level}: ${r.msg}`).join('\n')),
      error: (e) => this.polResult.set(JSON.stringify(e?.error ?? e, null, 2)),
    });
  }
}
