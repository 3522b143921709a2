"""Training loops shared by the tiny models: seeded shuffling, AdamW, warmup + cosine schedule."""

import math
import time

import torch


def fit(model, batch_loss, n_items, *, epochs, batch_size, lr, seed, log, weight_decay=0.05, label=""):
    """Minimise batch_loss(index_tensor, step_generator) over shuffled mini-batches.

    All randomness (order, per-batch noise) comes from one torch.Generator seeded with `seed`.
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(n_items / batch_size)
    total = epochs * steps_per_epoch
    warmup = steps_per_epoch

    def schedule(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    start = time.time()
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(n_items, generator=generator)
        running = 0.0
        for i in range(steps_per_epoch):
            idx = order[i * batch_size : (i + 1) * batch_size]
            loss = batch_loss(idx, generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item()
        log(f"{label} epoch {epoch + 1}/{epochs} loss {running / steps_per_epoch:.4f} ({time.time() - start:.0f}s)")
    model.eval()
    return time.time() - start
