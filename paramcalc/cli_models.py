"""The commands that meet models outside paramcalc: verify (a spec against PyTorch), import (a spec from a
PyTorch model or an ONNX file) and export (a spec as PyTorch source). cli.py adds them to the command group."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .cli_common import (
    INPUT,
    SPEC,
    SPECS,
    reading,
    require_onnx,
    require_torch,
    unwritable,
    write_file,
)
from .engine.dims import parse_shape
from .errors import SpecError


@click.command()
@SPECS
@click.option("--against", "model", metavar="MODEL",
              help="compare with this PyTorch model instead: torchvision.models.resnet50, package.module:Name or "
                   "path/to/file.py:Name")
@click.option("--kwargs", metavar="JSON", help='arguments for the model, as JSON: \'{"num_classes": 10}\'')
@INPUT
def verify(specs: tuple[str, ...], model: str | None, kwargs: str | None, input_shape: tuple | None) -> None:
    """Check a spec against PyTorch. Exit 0 when all agree, 1 on a mismatch, 2 on bad input.

    Without --against: build each spec as a module, run zeros through it on the CPU, and compare every
    layer's output shape and parameters, and the model's trainable parameters, buffers and MACs. This
    proves that the spec and paramcalc's reading of it agree with PyTorch's, not that the spec describes
    some other model. A .py file written by 'paramcalc export' is checked against the spec inside it.

    With --against MODEL: make that model on the meta device (no weights allocated), run it once, and
    compare its layers with parameters, in the order they run, with the spec's: parameters and output
    shape of each, then the totals (parameters, buffers, MACs, output). The first layer that differs is
    named on both sides. This proves the spec describes that model.

    \b
    Examples:
      paramcalc verify specs/resnet50.yaml
      paramcalc verify specs/*.yaml specs/examples/*.yaml
      paramcalc export specs/resnet18.yaml -o resnet18.py && paramcalc verify resnet18.py
      paramcalc verify specs/resnet50.yaml --against torchvision.models.resnet50
      paramcalc verify net.yaml --against models.py:Net --kwargs '{"width": 64}'
    """
    require_torch("verify")
    if model is not None:
        from .render.verify import comparison_lines
        from .torch.against import parse_kwargs, verify_against

        arguments = parse_kwargs(kwargs)
        failed = 0
        for path in specs:
            comparison = verify_against(path, model, kwargs=arguments, input_shape=input_shape)
            failed += not comparison.ok
            for line in comparison_lines(path, comparison):
                click.echo(line)
        if failed:
            sys.exit(1)
        return
    if kwargs is not None or input_shape is not None:
        raise click.UsageError("--kwargs and --input go with --against MODEL")
    from .render.verify import verification_lines
    from .torch import verify as verify_spec

    failed = 0
    for path in specs:
        result = verify_spec(path)
        failed += not result.ok
        for line in verification_lines(path, result):
            click.echo(line)
    if failed:
        sys.exit(1)


@click.command("import")
@click.argument("model")
@click.option("--input", "input_shape", callback=reading(parse_shape, "positive sizes like 3x224x224"),
              metavar="SHAPE", help="one sample's input shape, without the batch: 3x224x224 (a PyTorch model "
                                    "needs it; an ONNX model has its own)")
@click.option("--kwargs", metavar="JSON", help='arguments for the model, as JSON: \'{"num_classes": 10}\'')
@click.option("--name", help="the spec's name (default: the model's)")
@click.option("--custom", multiple=True, metavar="NAME",
              help="write a module class, module path or function (in ONNX: an operator or module path) "
                   "paramcalc has no kind for as a 'custom' layer (its parameters and output shape filled in, "
                   "its MACs to fill in); repeatable")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE", help="write the spec here "
              "(default: standard output)")
def import_command(model: str, input_shape: tuple | None, kwargs: str | None, name: str | None,
                   custom: tuple[str, ...], output: str | None) -> None:
    """Write a spec for a PyTorch model: a class or a function that returns one (torchvision.models.resnet50,
    package.module:Name, path/to/file.py:Name), or an ONNX file (model.onnx). A PyTorch model is made on the
    meta device (no weights allocated) and traced with torch.fx; an ONNX file is read with the onnx package
    (no runtime, no PyTorch). Layers keep the model's own module names, a module class used several times
    becomes a block, consecutive uses a repeat. A part paramcalc has no kind for stops the import with one
    message that lists each one with where it is.

    A model path or an ONNX file also works where a spec would (a model path with --input):
    paramcalc show torchvision.models.resnet50 --input 3x224x224, paramcalc show model.onnx.

    \b
    Examples:
      paramcalc import torchvision.models.resnet50 --input 3x224x224 -o resnet50.yaml
      paramcalc import my_models.py:Net --input 3x32x32 --kwargs '{"width": 64}'
      paramcalc import my_models.py:Net --input 3x32x32 --custom FancyBlock -o net.yaml
      paramcalc import model.onnx -o model.yaml
    """
    if model.lower().endswith(".onnx"):
        if input_shape is not None or kwargs is not None:
            raise click.UsageError(f"{'--input' if input_shape is not None else '--kwargs'} does not apply to an "
                                   "ONNX model: it has the size and settings it was exported with")
        require_onnx("import")
        from .importing.onnx_graph import import_onnx

        text = import_onnx(model, name=name, custom=custom)
    else:
        if input_shape is None:
            raise click.UsageError("a PyTorch model needs --input: one sample's shape, such as 3x224x224")
        if not all(isinstance(size, int) for size in input_shape):
            raise click.BadParameter("must be numbers: the model is traced at one size", param_hint="--input")
        require_torch("import")
        from .torch.against import parse_kwargs
        from .torch.importer import import_model

        text = import_model(model, input_shape, kwargs=parse_kwargs(kwargs), name=name, custom=custom)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text)
    except OSError as err:
        raise unwritable(output, err) from None


@click.command()
@SPEC
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Where to write the Python source (default: standard output).")
def export(spec: str, output: str | None) -> None:
    """Write PyTorch source for a spec: an nn.Module class with the spec's layer names.

    \b
    Example:
      paramcalc export specs/resnet18.yaml -o resnet18.py
    """
    require_torch("export")
    from .torch.export import export_source

    if output is not None and os.path.exists(output) and os.path.exists(spec) and os.path.samefile(output, spec):
        raise SpecError("-o names the spec itself, which export would overwrite", file=output,
                        hint="write the module to a .py file: -o model.py")
    text = export_source(spec)
    if output is None:
        click.echo(text, nl=False)
        return
    write_file(output, text)
    click.echo(f"wrote {output}", err=True)
