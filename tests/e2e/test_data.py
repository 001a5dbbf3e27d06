"""gradwire.utils.data: PyTorch's Dataset, TensorDataset, DataLoader and random_split, batches on the server."""

from __future__ import annotations

import numpy as np
import pytest

import gradwire as gw
from gradwire.utils.data import DataLoader, Dataset, TensorDataset, default_collate, random_split

torch = pytest.importorskip("torch")


def test_a_tensor_dataset_is_batched_on_the_server_as_torchs_loader_batches(session):
    features, labels = np.arange(20.0).reshape(10, 2), np.arange(10) % 3
    ours = DataLoader(TensorDataset(session.tensor(features), session.tensor(labels)), batch_size=4)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(features), torch.from_numpy(labels)), batch_size=4)
    assert len(ours) == len(theirs) == 3
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        assert isinstance(x, gw.Tensor) and x.tolist() == tx.tolist() and y.tolist() == ty.tolist()
    last = list(DataLoader(TensorDataset(session.tensor(features)), batch_size=4, drop_last=True))
    assert len(last) == 2 and last[-1][0].shape == (4, 2)
    session.sync()
    before = session.stats()["tensors"]
    for _ in DataLoader(TensorDataset(session.tensor(features)), batch_size=3, shuffle=True, generator=0):
        pass
    session.sync()
    assert session.stats()["tensors"] <= before + 1  # the batches come and go; the data stays where it was


def test_shuffled_epochs_cover_every_sample_once_in_a_new_order(session):
    data = TensorDataset(session.tensor(np.arange(12)))
    loader = DataLoader(data, batch_size=5, shuffle=True, generator=3)
    epochs = [np.concatenate([batch.numpy() for (batch,) in loader]).tolist() for _ in range(2)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(12)) and epochs[0] != epochs[1]
    again = DataLoader(data, batch_size=5, shuffle=True, generator=3)
    assert np.concatenate([batch.numpy() for (batch,) in again]).tolist() == epochs[0]  # a seed makes it reproducible


class _Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32), "label": i % 2}, float(i)


def test_gw_manual_seed_repeats_the_shuffled_order_as_torch_manual_seed_does(session):
    """With no generator, each pass draws its seed from the session's default generator."""
    data = TensorDataset(session.arange(40))

    def orders():
        gw.manual_seed(5)
        loader = DataLoader(data, batch_size=40, shuffle=True)
        return [next(iter(loader))[0].tolist() for _ in range(2)]

    first, second = orders(), orders()
    assert first == second  # the same seed, the same orders
    assert first[0] != first[1] and sorted(first[0]) == list(range(40))  # a new order each pass


def test_other_datasets_are_collated_as_torchs_default_collate(session):
    # (session= given: an earlier test's session may not be collected yet, and then two are open)
    ours, theirs = list(DataLoader(_Squares(), batch_size=2, session=session)), list(torch.utils.data.DataLoader(_Squares(), batch_size=2))
    assert len(ours) == len(theirs) == 3
    for (fields, value), (t_fields, t_value) in zip(ours, theirs):
        assert fields["x"].tolist() == t_fields["x"].tolist() and fields["x"].dtype == gw.float32
        assert fields["label"].tolist() == t_fields["label"].tolist() and fields["label"].dtype == gw.int64
        assert value.tolist() == t_value.tolist()
    stacked = default_collate([session.ones(2), session.zeros(2)])
    assert stacked.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    assert list(DataLoader(_Squares(), batch_size=None))[3][1] == 3.0  # one sample at a time, as it is


def test_random_split_and_subsets(session):
    data = TensorDataset(np.arange(10), np.arange(10) * 10)
    train, test = random_split(data, [0.7, 0.3], generator=1)
    assert (len(train), len(test)) == (7, 3)
    seen = sorted(int(train[i][0]) for i in range(7)) + sorted(int(test[i][0]) for i in range(3))
    assert sorted(seen) == list(range(10))
    assert all(int(b) == 10 * int(a) for a, b in (train[i] for i in range(7)))
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset"):
        random_split(data, [4, 4])
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(np.arange(3), np.arange(4))


def test_a_remote_model_trains_from_the_loader(session):
    rng = np.random.default_rng(0)
    features = rng.standard_normal((64, 3)).astype(np.float32)
    labels = (features @ np.array([1.0, -2.0, 0.5], np.float32) > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(session.tensor(features), session.tensor(labels)), batch_size=16, shuffle=True, generator=0)
    model = gw.nn.Linear(3, 2, session=session)
    optimizer = gw.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(15):
        for x, y in loader:
            loss = gw.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_samplers_and_batch_samplers_drive_the_loader_as_torchs_do(session):
    from gradwire.utils.data import BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler

    data = TensorDataset(session.tensor(np.arange(10) * 10))
    # a batch sampler's lists, as they come (not consecutive, not sorted): the same batches as torch's loader
    batches = [[3, 1], [9, 0, 4], [7]]
    ours = [b.tolist() for (b,) in DataLoader(data, batch_sampler=batches)]
    theirs = [b.tolist() for (b,) in torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(10) * 10), batch_sampler=batches)]
    assert ours == theirs == [[30, 10], [90, 0, 40], [70]]
    assert len(DataLoader(data, batch_sampler=batches)) == 3
    # a sampler's order, batched
    subset = DataLoader(data, batch_size=2, sampler=SubsetRandomSampler([1, 4, 6], generator=0))
    drawn = [row for (b,) in subset for row in b.tolist()]
    assert sorted(drawn) == [10, 40, 60] and len(subset) == 2
    assert list(BatchSampler(SequentialSampler(range(7)), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert list(BatchSampler(range(7), 3, drop_last=False))[-1] == [6]
    # with replacement, more draws than rows; weighted: the weights' proportions, bounded draws
    assert len(list(RandomSampler(range(3), replacement=True, num_samples=8, generator=1))) == 8
    drawn = list(RandomSampler(range(4), num_samples=6, generator=1))  # a whole permutation, then part of another
    assert sorted(drawn[:4]) == [0, 1, 2, 3] and len(set(drawn[4:])) == 2
    counts = np.bincount(list(WeightedRandomSampler([0.1, 0.0, 0.9], 4000, generator=2)), minlength=3)
    assert counts[1] == 0 and abs(counts[2] / 4000 - 0.9) < 0.03
    assert sorted(WeightedRandomSampler([1, 1, 1, 5], 4, replacement=False, generator=2)) == [0, 1, 2, 3]


def test_loader_and_sampler_refusals_as_in_torch(session):
    from gradwire.utils.data import BatchSampler, RandomSampler, WeightedRandomSampler

    data = TensorDataset(session.tensor(np.arange(4)))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(data, sampler=range(4), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"):
        DataLoader(data, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(range(4), num_samples=0)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(TypeError, match="drop_last should be a boolean value"):
        BatchSampler(range(4), 2, drop_last=1)
    torch_data = torch.utils.data.TensorDataset(torch.arange(4))
    for options in ({"batchsize": 2}, {"shufle": True}, {"num_workers": -1}, {"timeout": -1}, {"persistent_workers": True},
                    {"prefetch_factor": 2}, {"multiprocessing_context": "spawn"}):
        with pytest.raises((TypeError, ValueError)) as theirs:  # a misspelt option is not a silent batch size of 1
            torch.utils.data.DataLoader(torch_data, **options)
        with pytest.raises(theirs.type) as ours:
            DataLoader(data, **options)
        assert str(ours.value).replace("DataLoader.__init__", "") == str(theirs.value).replace("DataLoader.__init__", "")
    assert [type(batch) for batch in DataLoader(data, batch_size=2)] == [type(b) for b in torch.utils.data.DataLoader(torch_data, batch_size=2)]


class _Stream(gw.utils.data.IterableDataset):
    """The numbers start .. stop - 1 as (feature pair, label) samples, read once per pass; a length where asked for."""

    def __init__(self, start, stop, sized=True):
        self.start, self.stop, self.sized = start, stop, sized

    def __iter__(self):
        return iter((np.array([i, i * 0.5]), i % 2) for i in range(self.start, self.stop))

    def __len__(self):
        if not self.sized:
            raise TypeError("object of type '_Stream' has no len()")
        return self.stop - self.start


class _TorchStream(torch.utils.data.IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter((np.array([i, i * 0.5]), i % 2) for i in range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


def test_an_iterable_dataset_is_batched_in_its_own_order_as_torchs(session):
    for kwargs in ({"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}, {}):
        ours, theirs = DataLoader(_Stream(0, 7), session=session, **kwargs), torch.utils.data.DataLoader(_TorchStream(0, 7), **kwargs)
        assert len(ours) == len(theirs), kwargs
        batches, t_batches = list(ours), list(theirs)
        assert len(batches) == len(t_batches), kwargs
        for (x, y), (tx, ty) in zip(batches, t_batches):
            assert np.asarray(x.tolist() if isinstance(x, gw.Tensor) else x).tolist() == np.asarray(tx).tolist()
            assert (y.tolist() if isinstance(y, gw.Tensor) else y) == (ty.tolist() if isinstance(ty, torch.Tensor) else ty)
    chained = gw.utils.data.ChainDataset([_Stream(0, 2), _Stream(5, 7)])
    assert [int(y) for _, y in chained] == [0, 1, 1, 0] and len(chained) == 4
    assert [b[1].tolist() for b in DataLoader(_Stream(0, 2) + _Stream(5, 8), batch_size=2, session=session)] == [[0, 1], [1, 0], [1]]
    with pytest.raises(TypeError):
        len(DataLoader(_Stream(0, 3, sized=False), batch_size=2))
    assert len(list(DataLoader(_Stream(0, 3, sized=False), batch_size=2, session=session))) == 2


@pytest.mark.parametrize("option", ["shuffle", "sampler", "batch_sampler"])
def test_an_iterable_dataset_refuses_a_sampler_as_torchs(option):
    value = True if option == "shuffle" else [0, 1]
    with pytest.raises(ValueError) as theirs:
        torch.utils.data.DataLoader(_TorchStream(0, 3), **{option: value})
    with pytest.raises(ValueError) as ours:
        DataLoader(_Stream(0, 3), **{option: value})
    assert str(ours.value) == str(theirs.value)


def test_concat_dataset_indexes_through_its_parts_as_torchs(session):
    parts = [TensorDataset(np.arange(3.0)), TensorDataset(np.arange(10.0, 14.0)), TensorDataset(np.arange(20.0, 22.0))]
    t_parts = [torch.utils.data.TensorDataset(torch.arange(start, stop)) for start, stop in ((0.0, 3.0), (10.0, 14.0), (20.0, 22.0))]
    ours, theirs = gw.utils.data.ConcatDataset(parts), torch.utils.data.ConcatDataset(t_parts)
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    for i in list(range(len(ours))) + [-1, -len(ours)]:
        assert float(ours[i][0]) == float(theirs[i][0]), i
    assert len(parts[0] + parts[1]) == 7
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ours[-len(ours) - 1]
    for bad, message in (([], "datasets should not be an empty iterable"), ([_Stream(0, 2)], "ConcatDataset does not support IterableDataset")):
        with pytest.raises(AssertionError, match=message):
            torch.utils.data.ConcatDataset(bad if not bad else [_TorchStream(0, 2)])
        with pytest.raises(AssertionError, match=message):
            gw.utils.data.ConcatDataset(bad)
    batches = [b[0].tolist() for b in DataLoader(ours, batch_size=4, session=session)]
    assert batches == [b[0].tolist() for b in torch.utils.data.DataLoader(theirs, batch_size=4)]
