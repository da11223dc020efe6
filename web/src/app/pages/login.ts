import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Router } from '@angular/router';
import { Api, setToken } from '../api';

@Component({
  selector: 'st-login',
  imports: [FormsModule],
  template: `
    <section class="mx-auto mt-12 max-w-md card">
      <h1 class="mb-2 text-xl font-bold">Sign in</h1>
      <p class="mb-4 text-sm text-slate-700">Paste a bearer token: a JWT from your identity provider or a Stella API token.</p>
      <form (ngSubmit)="signIn()" class="flex flex-col gap-3">
        <label for="token" class="text-sm font-semibold">Token</label>
        <textarea id="token" name="token" rows="4" class="input font-mono" [(ngModel)]="value" required autocomplete="off"></textarea>
        @if (error()) { <p role="alert" class="text-sm text-red-800">{{ error() }}</p> }
        <button type="submit" class="btn self-start" [disabled]="!value.trim()">Sign in</button>
      </form>
    </section>
  `,
})
export class Login {
  private api = inject(Api);
  private router = inject(Router);
  value = '';
  error = signal('');
  signIn(): void {
    setToken(this.value.trim());
    this.api.me().subscribe({
      next: () => this.router.navigateByUrl('/dashboard'),
      error: (e) => {
        setToken(null);
        this.error.set(e?.error?.error ?? 'The token was refused.');
      },
    });
  }
}
