/** A modal that asks before a destructive action runs (roll back, sign off, cancel). */
import { Button, Dialog, DialogBody, DialogFooter, DialogHeader, Text } from '@backstage/ui';
import type { ReactNode } from 'react';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** Destructive confirm buttons are styled as such. */
  destructive?: boolean;
  pending?: boolean;
  onConfirm(): void;
  onCancel(): void;
}

export function ConfirmDialog(props: ConfirmDialogProps) {
  return (
    <Dialog
      isOpen={props.open}
      isDismissable={!props.pending}
      onOpenChange={(open) => {
        if (!open) props.onCancel();
      }}
      width={480}
    >
      <DialogHeader>{props.title}</DialogHeader>
      <DialogBody>
        <Text as="div">{props.children}</Text>
      </DialogBody>
      <DialogFooter>
        <Button variant="secondary" onPress={props.onCancel} isDisabled={props.pending}>
          Keep as is
        </Button>
        <Button
          variant="primary"
          destructive={props.destructive ?? false}
          onPress={props.onConfirm}
          isPending={props.pending ?? false}
        >
          {props.confirmLabel}
        </Button>
      </DialogFooter>
    </Dialog>
  );
}
