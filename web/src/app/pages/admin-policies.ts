import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Api, PolicyFile, errorText } from '../api';

/** Organisation policies: view, test a candidate against a stored scan,
 * upload (operators, when the server has an upload directory), delete. */
@Component({
  selector: 'st-admin-policies',
  imports: [FormsModule],
  template: `
    <section class="card" aria-labelledby="t-policies">
      <h2 id="t-policies" class="mb-2 font-semibold">Policies</h2>
      <p class="text-sm">Built in: {{ builtin() }}</p>
      <ul class="mt-2">
        @for (p of policies(); track p.path) {
          <li class="mt-1" [attr.data-policy]="p.name">
            <details><summary class="cursor-pointer font-mono text-sm">{{ p.path }}@if (p.uploaded) { <span class="badge ml-1 bg-slate-200">uploaded</span> }</summary>
              <pre class="overflow-x-auto bg-slate-100 p-2 text-xs">{{ p.source }}</pre></details>
            @if (p.uploaded && uploadable()) { <button type="button" class="btn-secondary mt-1" (click)="remove(p)" [attr.aria-label]="'Delete policy ' + p.name">Delete</button> }
          </li>
        } @empty { <li class="text-sm">No organisation policies: only the built-in bundle decides.</li> }
      </ul>
      <form class="mt-3 flex flex-col gap-2" (ngSubmit)="test()">
        <label for="pol-src" class="text-sm font-semibold">Candidate Rego module</label>
        <textarea id="pol-src" name="src" rows="6" class="input font-mono" [(ngModel)]="src"></textarea>
        <div class="flex flex-wrap items-center gap-2">
          <label for="pol-file" class="text-sm font-semibold">Or load a .rego file</label>
          <input id="pol-file" type="file" accept=".rego" (change)="load($event)">
        </div>
        <div class="flex flex-wrap items-end gap-2">
          <div class="flex flex-col"><label for="pol-scan" class="text-sm font-semibold">Scan id to test against</label>
            <input id="pol-scan" name="scan" class="input font-mono" size="38" [(ngModel)]="scanId"></div>
          <button type="submit" class="btn" [disabled]="!scanId.trim()">Test</button>
        </div>
        @if (uploadable()) {
          <div class="flex flex-wrap items-end gap-2">
            <div class="flex flex-col"><label for="pol-name" class="text-sm font-semibold">File name</label>
              <input id="pol-name" name="pname" class="input font-mono" [(ngModel)]="name" placeholder="no-latest.rego"></div>
            <button type="button" class="btn" (click)="upload()" [disabled]="!name.trim() || !src.trim()">Upload policy</button>
          </div>
        } @else {
          <p class="text-sm text-slate-700">Policies apply to every tenant: admins of the operator tenant upload them, on a server started with <code>--policy-upload-dir</code>.</p>
        }
      </form>
      @if (result()) { <pre role="status" class="mt-2 whitespace-pre-wrap break-words bg-slate-100 p-2 text-xs" data-test="policy-result">{{ result() }}</pre> }
    </section>
  `,
})
export class AdminPolicies {
  private api = inject(Api);
  policies = signal<PolicyFile[]>([]);
  builtin = signal('');
  uploadable = signal(false);
  result = signal('');
  scanId = '';
  name = '';
  src = 'package org.example\n\nimport rego.v1\n\ndeny contains "no images from docker.io" if startswith(input.image.name, "docker.io/")\n';

  constructor() { this.reload(); }
  reload(): void {
    this.api.policies().subscribe((r) => { this.policies.set(r.policies); this.builtin.set(r.builtin); this.uploadable.set(r.uploadable); });
  }
  load(ev: Event): void {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) f.text().then((t) => { this.src = t; if (!this.name) this.name = f.name; this.result.set(`Loaded ${f.name}.`); });
  }
  test(): void {
    this.api.testPolicy(this.scanId.trim(), this.src).subscribe({
      next: (d) => this.result.set(`verdict: ${d.verdict}\n` + [...(d.deny ?? []), ...(d.warn ?? [])].map((r: any) => `${r.level}: ${r.msg}${r.findings?.length ? ': ' + r.findings.join(', ') : r.finding ? ' (' + r.finding + ')' : ''}`).join('\n')),
      error: (e) => this.result.set(errorText(e)),
    });
  }
  upload(): void {
    const name = this.name.trim();
    this.api.uploadPolicy(name, this.src).subscribe({
      next: (r) => { this.result.set(`Uploaded ${name} to ${r.path}; ${r.reloaded ? 'in force now' : 'in force from the next start'}.`); this.reload(); },
      error: (e) => this.result.set(errorText(e)),
    });
  }
  remove(p: PolicyFile): void {
    this.api.deletePolicy(p.name).subscribe({
      next: () => { this.result.set(`Deleted ${p.name}.`); this.reload(); },
      error: (e) => this.result.set(errorText(e)),
    });
  }
}
