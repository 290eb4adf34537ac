/** The nav icon of the migrations page: two stacked databases with an arrow (inline SVG, no icon package). */
export function MigrationsIcon() {
  return (
    <svg
      width="20"
      height="20"
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      aria-hidden="true"
    >
      <ellipse cx="7" cy="5" rx="5" ry="2" />
      <path d="M2 5v6c0 1.1 2.2 2 5 2s5-.9 5-2V5" />
      <ellipse cx="17" cy="13" rx="5" ry="2" />
      <path d="M12 13v6c0 1.1 2.2 2 5 2s5-.9 5-2v-6" />
      <path d="M9 17h-4v-3M5 17l4-4" />
    </svg>
  );
}
