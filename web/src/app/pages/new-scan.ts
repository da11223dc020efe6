import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Router } from '@angular/router';
import { Api } from '../api';

@Component({
  selector: 'st-new-scan',
  imports: [FormsModule],
  template: `
    <h1 class="mb-4 text-2xl font-bold">New scan</h1>
    <form class="card flex max-w-2xl flex-col gap-3" (ngSubmit)="start()">
      <label for="image" class="text-sm font-semibold">Image reference</label>
      <input id="image" name="image" class="input font-mono" [(ngModel)]="image" placeholder="registry.example.com/team/app:1.4.2" required autocomplete="off">
      <p class="text-sm text-slate-700">A tag or a digest on a registry Stella can reach. The scan is queued and runs in the background; you will follow it live.</p>
      @if (error()) { <p role="alert" class="text-sm text-red-800">{{ error() }}</p> }
      <button type="submit" class="btn self-start" [disabled]="!image.trim() || busy()">Scan</button>
    </form>
  `,
})
export class NewScan {
  private api = inject(Api);
  private router = inject(Router);
  image = '';
  busy = signal(false);
  error = signal('');
  start(): void {
    this.busy.set(true);
    this.api.startScan(this.image.trim()).subscribe({
      next: (r) => this.router.navigate(['/scans', r.id]),
      error: (e) => { this.busy.set(false); this.error.set(e?.error?.error ?? 'The scan could not be started.'); },
    });
  }
}
