import type { Child } from 'hono/jsx';

/**
 * A wide table's horizontal scroller (narrow screens): a labelled region that takes keyboard
 * focus, so keyboard users can scroll it too (axe `scrollable-region-focusable`).
 */
export function TableWrap(props: { label: string; children?: Child }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabindex={0}>
      {props.children}
    </div>
  );
}
